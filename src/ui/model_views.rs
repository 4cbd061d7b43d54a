//! Views of the controls' model, drawn without training: its activation function among the
//! others, and how far its attention reaches across depth. Plain data from `lab::model_views`.

use leptos::prelude::*;

use super::lab_state::LabState;
use super::views::LineChart;
use crate::lab::model_views;

#[component]
pub fn ModelViews() -> impl IntoView {
    let state = expect_context::<LabState>();
    let receptive = move || {
        state.version.track();
        state.lab.with_value(model_views::receptive_text)
    };
    view! {
        <h2>"The model's functions"</h2>
        <p class="hint">
            "The MLP's activation functions as the CPU engine computes them (gated units multiply \
            the curve by a second projection y), this model's in bold; and how many positions \
            the last position sees after each layer (sliding windows add about their width per \
            layer, up to the context)."
        </p>
        <section class="charts" aria-label="The model's functions">
            <LineChart testid="chart-activation"
                title="Activation functions"
                x="x" y="act(x)" log=Some(false) lines=model_views::activation_lines />
            <figure class="chart-with-readout">
                <LineChart testid="chart-receptive"
                    title="Receptive field (dashed: the context)"
                    x="layer" y="positions" log=Some(false) lines=model_views::receptive_lines dots=true />
                <figcaption data-testid="receptive-readout">
                    {move || receptive().unwrap_or_else(|| "—".into())}
                </figcaption>
            </figure>
        </section>
    }
}
