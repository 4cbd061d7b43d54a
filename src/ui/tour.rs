//! The guided tour's panel (`lab::tour`): the stops in the lecture's order, the current one's
//! words, diagram and one-click experiment, previous/next, and the stop in the URL fragment
//! (`#tour=position`) so a shared link opens at it. `Tour` is shared with presenter mode.

use leptos::prelude::*;
use wasm_bindgen::JsValue;

use super::lab_state::LabState;
use super::language::Language;
use super::tour_diagrams::Diagram;
use crate::lab::tour::{self, STOPS};
use crate::lab::tour_text::fill;

/// The tour's place and presenter mode, shared through context.
#[derive(Clone, Copy)]
pub struct Tour {
    /// The current stop (an index into `lab::tour::STOPS`).
    pub stop: RwSignal<usize>,
    pub presenting: RwSignal<bool>,
    /// The variant of the stop's experiment presenter mode last trained ("n"), if any, and
    /// the run (by id) it started.
    pub variant: RwSignal<Option<(usize, usize)>>,
}

impl Tour {
    /// At the stop the page's URL fragment names, else the first.
    pub fn new() -> Self {
        let hash = web_sys::window()
            .and_then(|w| w.location().hash().ok())
            .unwrap_or_default();
        Self {
            stop: RwSignal::new(tour::stop_in(&hash).unwrap_or(0)),
            presenting: RwSignal::new(false),
            variant: RwSignal::new(None),
        }
    }

    /// Moves to stop `index` (clamped to the tour) and names it in the URL fragment.
    pub fn go(&self, index: usize) {
        let index = index.min(STOPS.len() - 1);
        if index != self.stop.get_untracked() {
            self.variant.set(None);
        }
        self.stop.set(index);
        if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
            let target = tour::fragment(index);
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&target));
        }
    }

    /// Moves `by` stops forward (negative: back), staying within the tour.
    pub fn step(&self, by: isize) {
        self.go(self.stop.get_untracked().saturating_add_signed(by));
    }
}

/// The button that sets up and starts the current stop's experiment.
#[component]
pub fn RunStop(testid: &'static str) -> impl IntoView {
    let (state, tour) = (expect_context::<LabState>(), expect_context::<Tour>());
    let language = expect_context::<Language>();
    let experiment = move || STOPS[tour.stop.get()].experiment;
    view! {
        <button class="tour-run" data-testid=testid
            on:click=move |_| state.start_experiment(experiment())>
            {move || fill(language.tour().run, &[("experiment", experiment())])}
        </button>
    }
}

#[component]
pub fn TourPanel() -> impl IntoView {
    let tour = expect_context::<Tour>();
    let language = expect_context::<Language>();
    let stop = move || tour.stop.get();
    // Drawn again in a new language (the tour's place is in `tour`).
    move || {
        let words = language.tour();
        view! {
        <section class="panel tour" data-testid="tour" data-stop=move || STOPS[stop()].slug
            aria-labelledby="tour-heading">
            <div class="tour-head">
                <h2 id="tour-heading">{words.heading}</h2>
                <button id="tour-present" data-testid="present" aria-pressed=move || tour.presenting.get().to_string()
                    on:click=move |_| tour.presenting.set(true)>{words.present}</button>
            </div>
            <p class="hint">{words.intro}</p>
            <ol class="tour-stops">
                {(0..STOPS.len())
                    .map(|index| {
                        view! {
                            <li>
                                <button data-testid=format!("tour-stop-{}", STOPS[index].slug)
                                    title=words.stops[index].title
                                    aria-current=move || (stop() == index).then_some("step")
                                    on:click=move |_| tour.go(index)>{index + 1}</button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
            {move || {
                let (index, text) = (stop(), &words.stops[stop()]);
                view! {
                    <div class="tour-stop">
                        <div class="tour-words">
                            <p class="tour-counter" data-testid="tour-counter">{tour::counter(language.get(), index)}</p>
                            <h3 data-testid="tour-title">{text.title}</h3>
                            <div data-testid="tour-body">
                                {text.body.iter().map(|p| view! { <p>{*p}</p> }).collect_view()}
                            </div>
                        </div>
                        {STOPS[index].diagram.map(|diagram| view! { <Diagram diagram=diagram text=text /> })}
                    </div>
                }
            }}
            <div class="buttons tour-nav">
                <button data-testid="tour-previous" disabled=move || stop() == 0
                    on:click=move |_| tour.step(-1)>{words.previous}</button>
                <RunStop testid="tour-run" />
                <button data-testid="tour-next" disabled=move || stop() + 1 == STOPS.len()
                    on:click=move |_| tour.step(1)>{words.next}</button>
            </div>
        </section>
        }
    }
}
