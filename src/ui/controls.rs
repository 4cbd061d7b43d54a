//! The controls: the presets, then one generic control per row of `lab::fields::FIELDS`,
//! grouped as the lecture is.

use leptos::prelude::*;

use super::lab_state::LabState;
use super::sweep::SweepControls;
use crate::lab::fields::{self, Field, Kind, FIELDS, GROUPS};
use crate::train::experiments::EXPERIMENTS;
use crate::train::presets::{Preset, PRESETS};

#[component]
pub fn ControlsPanel() -> impl IntoView {
    let state = expect_context::<LabState>();
    view! {
        <aside class="controls" aria-label="Architecture controls">
            <section class="presets">
                <h2>"Real architectures"</h2>
                <div class="preset-buttons">
                    {PRESETS
                        .iter()
                        .map(|&Preset { name, label, .. }| {
                            view! {
                                <button
                                    data-testid=format!("preset-{name}")
                                    on:click=move |_| state.preset(name)
                                >
                                    {label}
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
            </section>
            <Experiments />
            {GROUPS
                .iter()
                .enumerate()
                .map(|(group, name)| {
                    view! {
                        <fieldset>
                            <legend>{*name}</legend>
                            {FIELDS
                                .iter()
                                .filter(|f| f.group == group)
                                .map(|field| view! { <Control field=field /> })
                                .collect_view()}
                            // The rules of thumb read the shape the group sets.
                            {(*name == "Shape").then(|| view! { <super::rules::RuleReadouts /> })}
                        </fieldset>
                    }
                })
                .collect_view()}
        </aside>
    }
}

/// The lecture's experiments, each with its claim, source and what to watch, and a button that
/// trains its variants together in lockstep (`ui::results` shows them).
#[component]
fn Experiments() -> impl IntoView {
    let state = expect_context::<LabState>();
    view! {
        <section class="experiments" data-testid="experiments">
            <h2>"Lecture experiments"</h2>
            <p class="hint">
                "Each trains its variants together, one step each in turn, over two seeds, \
                with the claim, its own charts and a results table above the runs. The page's \
                size settings and a run length set in the controls (Optimization: steps) apply \
                to every variant unless the experiment sets them itself."
            </p>
            {EXPERIMENTS
                .iter()
                .map(|experiment| {
                    view! {
                        <details class="experiment">
                            <summary>{experiment.name} " · " {experiment.section}</summary>
                            <p class="claim">{experiment.claim} " " <cite>{experiment.source}</cite></p>
                            <p class="claim">"Watch: " {experiment.watch}</p>
                            <button
                                data-testid=format!("experiment-{}", experiment.name)
                                on:click=move |_| state.start_experiment(experiment.name)
                            >
                                {format!("Run {} ({} variants)", experiment.name, experiment.variants.len())}
                            </button>
                        </details>
                    }
                })
                .collect_view()}
            <SweepControls />
        </section>
    }
}

/// The element id of the input of the control of `key`.
pub fn control_id(key: &str) -> String {
    format!("control-{}", key.replace('.', "-"))
}

/// One field: its label, its input (select, checkbox or text), the lecture's claim with its
/// source, and the error that names it. Hidden while the configuration lacks its key.
#[component]
fn Control(field: &'static Field) -> impl IntoView {
    let state = expect_context::<LabState>();
    let id = control_id(field.key);
    // The value typed if it was refused, else the configuration's.
    let shown = move || {
        state.version.track();
        state.lab.with_value(|lab| {
            lab.rejected
                .iter()
                .find(|(key, _, _)| key == field.key)
                .map(|(_, value, _)| value.clone())
                .or_else(|| fields::shown_value(field, &lab.draft))
        })
    };
    let error = move || {
        state.version.track();
        state.lab.with_value(|lab| lab.error_for(field.key))
    };
    let change = move |raw: String| state.change(field.key, &fields::set_value(field, &raw));
    // A closed dropdown changes its value on every arrow key: each would start a run. Choices
    // made by keyboard wait for Enter or for the focus to leave; a click commits at once.
    let browsing = StoredValue::new(false);
    let commit = move |ev: &web_sys::Event| {
        browsing.set_value(false);
        if shown().as_deref() != Some(event_target_value(ev).as_str()) {
            change(event_target_value(ev));
        }
    };
    let input = match field.kind {
        Kind::Choice(options) => view! {
            <select
                id=id.clone()
                data-testid=format!("control-{}", field.key)
                prop:value=move || shown().unwrap_or_default()
                on:keydown=move |ev| match ev.key().as_str() {
                    "Enter" => commit(&ev),
                    "ArrowUp" | "ArrowDown" | "ArrowLeft" | "ArrowRight" | "Home" | "End"
                    | "PageUp" | "PageDown" => browsing.set_value(true),
                    _ => {}
                }
                on:change=move |ev| if !browsing.get_value() { commit(&ev) }
                on:blur=move |ev| if browsing.get_value() { commit(&ev) }
            >
                {options
                    .iter()
                    .enumerate()
                    .map(|(i, (label, _))| view! { <option value=i.to_string()>{*label}</option> })
                    .collect_view()}
            </select>
        }
        .into_any(),
        Kind::Toggle => view! {
            <input
                type="checkbox"
                id=id.clone()
                data-testid=format!("control-{}", field.key)
                prop:checked=move || shown().as_deref() == Some("true")
                on:change=move |ev| change(event_target_checked(&ev).to_string())
            />
        }
        .into_any(),
        Kind::Number | Kind::Optional(_) => view! {
            <input
                type="text"
                inputmode="decimal"
                id=id.clone()
                data-testid=format!("control-{}", field.key)
                placeholder=match field.kind {
                    Kind::Optional(empty) => empty,
                    _ => "",
                }
                prop:value=move || shown().unwrap_or_default()
                on:change=move |ev| change(event_target_value(&ev))
            />
        }
        .into_any(),
    };
    view! {
        <div
            class="control"
            class:invalid=move || error().is_some()
            data-field=field.key
            style:display=move || if shown().is_some() { "" } else { "none" }
        >
            <label for=id>{field.label}</label>
            {input}
            <p class="claim">
                {field.claim}
                {(!field.source.is_empty()).then(|| view! { " " <cite>{field.source}</cite> })}
            </p>
            {move || {
                error()
                    .map(|e| {
                        view! {
                            <p class="error" role="alert" data-testid=format!("error-{}", field.key)>
                                {e}
                            </p>
                        }
                    })
            }}
        </div>
    }
}
