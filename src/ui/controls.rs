//! The controls: the presets, then one generic control per row of `lab::fields::FIELDS`,
//! grouped as the lecture is.

use leptos::prelude::*;

use super::lab_state::LabState;
use super::language::Language;
use super::stages::Stage;
use super::sweep::SweepControls;
use super::tour::Tour;
use crate::lab::fields::{self, Field, Kind, FIELDS, GROUPS};
use crate::lab::tour_text::fill;
use crate::lab::{experiments_text, fields_text, names_text};
use crate::train::experiments::EXPERIMENTS;
use crate::train::presets::{Preset, PRESETS};

/// The presets, the current tour stop's group (first, so that it is on the first screen), the
/// experiments, then the other groups.
#[component]
pub fn ControlsPanel() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let tour = expect_context::<Tour>();
    let current = move || crate::lab::tour::group(tour.stop.get());
    view! {
        <aside class="controls" aria-label=move || words().controls_label>
            <section class="presets">
                <h2>{move || words().presets_heading}</h2>
                <div class="preset-buttons">
                    {PRESETS
                        .iter()
                        .map(|&Preset { name, label, .. }| {
                            view! {
                                <button
                                    data-testid=format!("preset-{name}")
                                    on:click=move |_| state.preset(name)
                                >
                                    {move || names_text::name(language.get(), label)}
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
            </section>
            // The page's first task builds the presets and the current group only; the
            // experiments and the other groups come in later stages (`ui::stages`).
            <Stage at=3><Experiments /></Stage>
            {GROUPS
                .iter()
                .enumerate()
                .map(|(group, name)| {
                    let is_current = move || current() == Some(group);
                    let first = crate::lab::tour::group(tour.stop.get_untracked()) == Some(group);
                    let at = if first { 0 } else { 2 };
                    view! {
                        <Stage at=at>
                            <fieldset class:current=is_current>
                                <legend>{move || fields_text::group(language.get(), group)}</legend>
                                {FIELDS
                                    .iter()
                                    .filter(|f| f.group == group)
                                    .map(|field| view! { <Control field=field /> })
                                    .collect_view()}
                            </fieldset>
                            // The rules of thumb read the shape the group sets: right after
                            // it, and outside it, so that the group's controls alone fill the
                            // first screen.
                            {(*name == "Shape").then(|| view! {
                                <div class="rules-beside" class:current=is_current>
                                    <super::rules::RuleReadouts />
                                </div>
                            })}
                        </Stage>
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
    let language = expect_context::<Language>();
    let words = move || language.page();
    view! {
        <section class="experiments" data-testid="experiments">
            <h2>{move || words().experiments_heading}</h2>
            <p class="hint">{move || words().experiments_hint}</p>
            {EXPERIMENTS
                .iter()
                .map(|experiment| {
                    let text = move || experiments_text::of(language.get(), experiment);
                    let run = move || {
                        let n = experiment.variants.len().to_string();
                        fill(words().run_experiment, &[("name", experiment.name), ("n", &n)])
                    };
                    view! {
                        <details class="experiment">
                            <summary>{experiment.name} " · " {move || text().section}</summary>
                            <p class="claim">{move || text().claim} " " <cite>{experiment.source}</cite></p>
                            <p class="claim">{move || words().watch} {move || text().watch}</p>
                            <button
                                data-testid=format!("experiment-{}", experiment.name)
                                on:click=move |_| state.start_experiment(experiment.name)
                            >
                                {run}
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
    let language = expect_context::<Language>();
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
                    .map(|(i, &(label, _))| view! {
                        <option value=i.to_string()>{move || fields_text::option(language.get(), label)}</option>
                    })
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
                placeholder=move || match field.kind {
                    Kind::Optional(empty) => fields_text::option(language.get(), empty),
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
            <label for=id>{move || fields_text::label(language.get(), field)}</label>
            {input}
            <p class="claim">
                {move || fields_text::claim(language.get(), field)}
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
