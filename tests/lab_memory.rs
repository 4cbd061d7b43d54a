//! Memory over a session of page runs, measured natively with a counting allocator: thirty
//! runs in a row (each superseding the last, as a changed control does) must not keep an
//! engine each (issue 13: 28 MB to 229 MB of WebAssembly memory over thirty runs).
#![cfg(not(target_arch = "wasm32"))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use archlab::lab::{page_defaults, Lab};

/// Bytes allocated and not yet freed, by anyone in this test binary.
static LIVE: AtomicIsize = AtomicIsize::new(0);

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> f64 {
    LIVE.load(Ordering::Relaxed) as f64
}

const MB: f64 = 1e6;

#[test]
fn thirty_runs_in_a_row_hold_one_engine() {
    let t = std::cell::Cell::new(0.0);
    let now = move || {
        t.set(t.get() + 0.001);
        t.get()
    };
    // The page without WebGPU: the CPU engine at CPU_SCALE.
    let mut lab = Lab::new(page_defaults(), &[], None);
    let steps = |lab: &mut Lab| {
        for _ in 0..3 {
            assert_eq!(lab.train(0.0, &now), 1);
        }
    };
    steps(&mut lab);
    let first = live();
    // Alternately a learning rate and a seed: runs on the same data share its tokens.
    for i in 1..30 {
        let lr = 0.001 + f64::from(i) * 1e-4;
        let (key, value) = match i % 2 {
            0 => ("train.lr", lr.to_string()),
            _ => ("train.seed", i.to_string()),
        };
        assert!(lab.change(key, &value));
        steps(&mut lab);
    }
    let growth = (live() - first) / 29.0;
    // What one run's engine holds: parameters, gradients, AdamW moments, activations.
    let engine = lab.runs.last_mut().unwrap().engine.take();
    let with_engine = live();
    drop(engine);
    let per_engine = with_engine - live();
    println!(
        "30 runs: {:.2} MB live after the first, {:.2} MB after the thirtieth: {:.3} MB per \
         run (history, examples); one engine holds {:.2} MB, which each stopped run kept before",
        first / MB,
        with_engine / MB,
        growth / MB,
        per_engine / MB
    );
    assert_eq!(lab.engines_alive(), 0);
    assert!(
        growth < per_engine / 4.0,
        "each run keeps {growth} bytes, an engine {per_engine}"
    );
}
