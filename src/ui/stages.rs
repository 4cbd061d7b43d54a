//! The lab's first render in stages, one task each. Built in one task, the controls, the
//! panels and every canvas's first draw (plotters) held the page's thread for well over 100 ms
//! before the first step; now each part is wrapped in `<Stage at=n>` and shows a task after
//! the one before it. Training starts once every stage is shown, so that the first step (on
//! WebGPU: the pipelines' compilation, which keeps the GPU process busy and makes a page's
//! first canvas draw wait for it) comes after every first draw.

use leptos::prelude::*;

use super::lab_state::next_task;

/// How many stages the first render has (the last one's `at`).
pub const STAGES: usize = 8;

/// How many stages are shown, shared through context.
#[derive(Clone, Copy)]
pub struct Stages {
    shown: RwSignal<usize>,
}

impl Stages {
    pub fn new() -> Self {
        Self {
            shown: RwSignal::new(0),
        }
    }

    /// Shows the stages, each in a task of its own; resolves once all are shown.
    pub async fn show_all(self) {
        for stage in 1..=STAGES {
            next_task().await;
            self.shown.set(stage);
        }
    }
}

/// `children`, rendered once stage `at` is shown.
#[component]
pub fn Stage(at: usize, children: ChildrenFn) -> impl IntoView {
    let stages = expect_context::<Stages>();
    // A memo, so that later stages do not render these children again.
    let shown = Memo::new(move |_| stages.shown.get() >= at);
    move || shown.get().then(|| children())
}
