//! Views of the controls' model, drawn without training: its activation function among the
//! others, and how far its attention reaches across depth. Plain data from `lab::model_views`.

use leptos::prelude::*;

use super::lab_state::LabState;
use super::language::Language;
use super::views::LineChart;
use crate::lab::{model_views, names_text};

#[component]
pub fn ModelViews() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let receptive = move || {
        state.version.track();
        state.lab.with_value(model_views::receptive_text)
    };
    view! {
        <h2>{move || words().functions_heading}</h2>
        <p class="hint">{move || words().functions_hint}</p>
        <section class="charts" aria-label=move || words().functions_heading>
            <LineChart testid="chart-activation" text=|t| t.activation_chart
                log=Some(false) lines=model_views::activation_lines />
            <figure class="chart-with-readout">
                <LineChart testid="chart-receptive" text=|t| t.receptive_chart
                    log=Some(false) lines=model_views::receptive_lines dots=true />
                <figcaption data-testid="receptive-readout">
                    {move || {
                        receptive().map_or_else(|| "—".into(), |text| names_text::name(language.get(), &text))
                    }}
                </figcaption>
            </figure>
        </section>
    }
}
