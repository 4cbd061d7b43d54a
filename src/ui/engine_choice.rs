//! The engine switch beside the readouts: which engine trains and why, in one sentence, and
//! buttons for auto, WebGPU and CPU (`lab::engine_choice`). Buttons rather than a dropdown:
//! nothing switches until one is pressed.

use leptos::prelude::*;

use super::lab_state::LabState;
use super::language::Language;
use crate::lab::engine_choice::EngineChoice;
use crate::lab::{fields_text, i18n};

#[component]
pub fn EngineSwitch() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let chosen = move || {
        state.version.track();
        state.lab.with_value(|lab| lab.engine_choice)
    };
    let why = move || {
        state.version.track();
        state
            .lab
            .with_value(|lab| i18n::translate(language.get(), &lab.engine_why))
    };
    view! {
        <div class="engine-switch" role="group" aria-label=move || language.page().engine.trim_end_matches([':', ' ', '：'])>
            <p data-testid="engine-why">{why}</p>
            {move || language.page().engine}
            {EngineChoice::ALL
                .into_iter()
                .map(|choice| {
                    view! {
                        <button
                            data-testid=format!("engine-{}", choice.as_str())
                            aria-pressed=move || (chosen() == choice).to_string()
                            on:click=move |_| state.choose_engine(choice)
                        >
                            {move || fields_text::option(language.get(), choice.label())}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}
