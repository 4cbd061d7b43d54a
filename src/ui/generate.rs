//! The "Generate" box under the Sample: the visitor's prompt continued by the newest run
//! with its engine's KV cache, a token per awaited read, its speed and the cache's measured
//! size (`lab::generate`).

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::lab_state::{now_ms, LabState};
use super::language::Language;
use crate::lab::generate::{GenerateError, GenerateInput, Generated, GENERATE_TOKENS};
use crate::lab::i18n;
use crate::lab::tour_text::fill;

#[component]
pub fn GeneratePanel() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let prompt = RwSignal::new("The ".to_string());
    let temperature = RwSignal::new("0.8".to_string());
    let top_k = RwSignal::new("0".to_string());
    let error = RwSignal::new(None::<GenerateError>);
    // What the last Generate gave, and in how many seconds.
    let output = RwSignal::new(None::<(Generated, f64)>);
    let busy = RwSignal::new(false);
    let generate = move |_| {
        let (p, t, k) = (
            prompt.get_untracked(),
            temperature.get_untracked(),
            top_k.get_untracked(),
        );
        let input = GenerateInput {
            prompt: &p,
            temperature: &t,
            top_k: &k,
        };
        let mut generation = match state.lab.try_with_value(|lab| lab.start_generation(input)) {
            Some(Ok(generation)) => generation,
            Some(Err(e)) => return error.set(Some(e)),
            None => return error.set(Some(GenerateError::engine("the page is closing"))),
        };
        // The last readout goes: what shows next is this Generate's.
        output.set(None);
        busy.set(true);
        // One token per read: the GPU engine's logits arrive later, the CPU engine's at once.
        spawn_local(async move {
            let started = now_ms();
            let result = async {
                while !generation.done() {
                    let read = state
                        .lab
                        .try_update_value(|lab| lab.next_logits(&mut generation))
                        .ok_or_else(|| GenerateError::engine("the page is closing"))??;
                    let logits = read
                        .await
                        .map_err(|e| GenerateError::engine(e.to_string()))?;
                    generation.push(&logits);
                }
                state
                    .lab
                    .try_update_value(|lab| lab.generated(&generation))
                    .ok_or_else(|| GenerateError::engine("the page is closing"))?
            }
            .await;
            let seconds = (now_ms() - started) / 1000.0;
            match result {
                Ok(out) => {
                    output.set(Some((out, seconds)));
                    error.set(None);
                }
                Err(e) => error.set(Some(e)),
            }
            busy.set(false);
        });
    };
    let error_at = move |control: &'static str| {
        move || {
            error.get().filter(|e| e.control == control).map(|e| {
                view! {
                    <span class="error" role="alert"
                        data-testid=format!("generate-error-{control}")>
                        {i18n::translate(language.get(), &e.reason)}
                    </span>
                }
            })
        }
    };
    view! {
        <section class="sample" aria-label=move || words().generate_heading data-testid="generate">
            <h2>{move || words().generate_heading}</h2>
            <p class="hint">
                {move || fill(words().generate_hint, &[("tokens", &GENERATE_TOKENS.to_string())])}
            </p>
            <div class="generate-controls">
                <label>
                    {move || words().prompt}
                    <input type="text" data-testid="generate-prompt" size="30"
                        prop:value=prompt on:input=move |ev| prompt.set(event_target_value(&ev)) />
                </label>
                {error_at("prompt")}
                <label>
                    {move || words().temperature}
                    <input type="text" data-testid="generate-temperature" size="4"
                        prop:value=temperature
                        on:input=move |ev| temperature.set(event_target_value(&ev)) />
                </label>
                {error_at("temperature")}
                <label>
                    " Top-k "
                    <input type="text" data-testid="generate-top-k" size="4"
                        title=move || words().top_k_title
                        prop:value=top_k on:input=move |ev| top_k.set(event_target_value(&ev)) />
                </label>
                {error_at("top_k")}
                " "
                <button data-testid="generate-button" prop:disabled=busy on:click=generate>
                    {move || words().generate}
                </button>
            </div>
            // The model's own text, in no language of the page.
            <pre data-testid="generate-text" translate="no">
                {move || output.with(|out| out.as_ref().map(|(out, _)| out.text.clone()))}
            </pre>
            <p class="hint" data-testid="generate-readout">
                {move || output.with(|out| {
                    out.as_ref().map(|(out, seconds)| out.readout(language.get(), *seconds))
                })}
            </p>
        </section>
    }
}
