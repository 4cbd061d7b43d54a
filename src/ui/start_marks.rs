//! The page's start in the browser's performance timeline: each phase before the first step is
//! a `performance.measure` named `archlab:<phase>`, so that `cargo xtask page-bench`
//! (tests/browser/page_bench.mjs) prints where the time went beside the long tasks, and a
//! visitor's DevTools shows the same. After the first step nothing is marked (the timeline
//! keeps every entry: a mark per redraw would grow it for as long as the page trains).

use std::cell::Cell;

thread_local! {
    static STARTED: Cell<bool> = const { Cell::new(false) };
}

/// The timeline's name for `phase`.
fn entry(phase: &str) -> String {
    format!("archlab:{phase}")
}

/// The page's performance timeline, until the first step.
fn timeline() -> Option<web_sys::Performance> {
    if STARTED.get() {
        return None;
    }
    web_sys::window()?.performance()
}

/// Marks where `phase` begins.
pub fn begin(phase: &str) {
    if let Some(performance) = timeline() {
        let _ = performance.mark(&format!("{}:begin", entry(phase)));
    }
}

/// Measures `phase` from its [`begin`] to now (an async phase includes its waits).
pub fn end(phase: &str) {
    if let Some(performance) = timeline() {
        let name = entry(phase);
        let _ = performance.measure_with_start_mark(&name, &format!("{name}:begin"));
    }
}

/// Runs `work` as `phase`.
pub fn timed<T>(phase: &str, work: impl FnOnce() -> T) -> T {
    begin(phase);
    let done = work();
    end(phase);
    done
}

/// The first step is recorded: the start is over, and marking ends.
pub fn first_step() {
    if let Some(performance) = timeline() {
        let _ = performance.mark(&entry("first-step"));
    }
    STARTED.set(true);
}
