//! Views for the lecture's claims across runs, not only the newest: per-layer residual RMS and
//! gradient norms at a picked layer, log Z and the parameter norm over the steps, and the
//! attention maps of two runs side by side. Plain data from `lab::across_runs`.

use leptos::prelude::*;

use super::lab_state::LabState;
use super::language::Language;
use super::views::{AttentionCanvas, ChartWords, LineChart};
use crate::lab::across_runs::{self, compared_runs, layer_choices, LayerPick};
use crate::lab::names_text;
use crate::lab::tour_text::fill;
use crate::lab::views;
use crate::train::session::StepRecord;

/// The charts that overlay every shown run (an experiment's lanes while the loss chart shows
/// them), in their colours and strokes.
#[component]
pub fn ClaimCharts() -> impl IntoView {
    let language = expect_context::<Language>();
    let words = move || language.page();
    view! {
        <h2>{move || words().across_heading}</h2>
        <p class="hint">{move || words().across_hint}</p>
        <section class="charts" aria-label=move || words().across_heading>
            <LayerChart testid="chart-norms" text=|t| t.norms_chart
                log=false value=across_runs::residual_rms />
            <LayerChart testid="chart-layer-grad" text=|t| t.layer_grad_chart
                log=true value=across_runs::layer_grad_norm />
            <LineChart testid="chart-log-z" text=|t| t.log_z_chart
                log=Some(false) lines=|lab| views::metric_lines(lab, |r| r.log_z) />
            <LineChart testid="chart-param-norm" text=|t| t.param_norm_chart
                log=Some(false) lines=|lab| views::metric_lines(lab, |r| r.param_norm) />
        </section>
    }
}

/// A per-layer number across the runs, with the layer picker above it (each run's last layer
/// by default).
#[component]
fn LayerChart(
    testid: &'static str,
    text: ChartWords,
    log: bool,
    value: fn(&StepRecord, usize) -> Option<f32>,
) -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let pick = RwSignal::new(LayerPick::Last);
    let choices = Memo::new(move |_| {
        state.version.track();
        state.lab.with_value(layer_choices)
    });
    // A new select whenever the options change (a run or lane comes or goes), never at a
    // step, so an open dropdown stays open. Rebuilt in place, its options would keep the
    // visitor's selected position, by then another option's; built afresh it shows the pick,
    // or "last layer" once the pick is no longer offered (what the chart then draws).
    let select = move |choices: Vec<(String, String)>| {
        let picked = pick.get_untracked().value();
        let shown = match choices.iter().any(|(value, _)| *value == picked) {
            true => picked,
            false => LayerPick::Last.value(),
        };
        let options = choices
            .into_iter()
            .map(|(value, label)| {
                let selected = value == shown;
                let label = move || names_text::name(language.get(), &label);
                view! { <option value=value selected=selected>{label}</option> }
            })
            .collect_view();
        view! {
            <select data-testid=format!("{testid}-layer")
                on:change=move |ev| pick.set(LayerPick::parse(&event_target_value(&ev)))>
                {options}
            </select>
        }
    };
    view! {
        <div class="layer-chart">
            <label>
                {move || language.page().layer}
                <For each=move || [choices.get()] key=Clone::clone children=select />
            </label>
            <LineChart testid=testid text=text log=Some(log)
                lines=move |lab| across_runs::layer_lines(lab, pick.get(), value) />
        </div>
    }
}

/// The attention maps of two runs side by side (by default the newest and the one before),
/// at the layer and head the enlarged map shows.
#[component]
pub fn CompareMaps() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let picked = [RwSignal::new(None::<usize>), RwSignal::new(None::<usize>)];
    let pair = Memo::new(move |_| {
        state.version.track();
        state
            .lab
            .with_value(|lab| compared_runs(lab, picked[0].get(), picked[1].get()))
    });
    // (id, name) of every run, and the most layers and heads of the two compared.
    let runs = move || {
        state.version.track();
        state.lab.with_value(|lab| {
            lab.runs
                .iter()
                .map(|r| (r.id, r.name(language.get())))
                .collect::<Vec<_>>()
        })
    };
    let shape = move || {
        state.version.track();
        let (a, b) = pair.get();
        state.lab.with_value(|lab| {
            let model = |id: Option<usize>| {
                let run = lab.runs.iter().find(|r| Some(r.id) == id)?;
                Some((
                    run.session.run.model.n_layers,
                    run.session.run.model.n_heads,
                ))
            };
            let (la, ha) = model(a).unwrap_or_default();
            let (lb, hb) = model(b).unwrap_or_default();
            (la.max(lb), ha.max(hb))
        })
    };
    // Side 0 is run a, side 1 run b.
    let run_select = move |side: usize| {
        let name = ["a", "b"][side];
        let signal = picked[side];
        view! {
            <label>
                {move || fill(words().compare_run, &[("name", words().compare_sides[side])])}
                <select data-testid=format!("compare-{name}-run")
                    on:change=move |ev| signal.set(event_target_value(&ev).parse().ok())>
                    {move || {
                        let (a, b) = pair.get();
                        let current = [a, b][side];
                        runs()
                            .into_iter()
                            .map(|(id, name)| {
                                view! {
                                    <option value=id.to_string() title=name selected=Some(id) == current>
                                        {fill(words().run_n, &[("id", &id.to_string())])}
                                    </option>
                                }
                            })
                            .collect_view()
                    }}
                </select>
            </label>
        }
    };
    // Part 0 is the layer, part 1 the head.
    let number_select = move |part: usize| {
        let what = ["layer", "head"][part];
        view! {
            <label>
                {move || words().compare_parts[part]}
                <select data-testid=format!("compare-{what}")
                    on:change=move |ev| {
                        if let Ok(n) = event_target_value(&ev).parse() {
                            state.enlarged.update(|(layer, head)| *[layer, head][part] = n);
                        }
                    }>
                    {move || {
                        let (layer, head) = state.enlarged.get();
                        let current = [layer, head][part];
                        let (layers, heads) = shape();
                        (0..[layers, heads][part])
                            .map(|n| view! { <option value=n.to_string() selected=n == current>{n}</option> })
                            .collect_view()
                    }}
                </select>
            </label>
        }
    };
    let side = move |name: &'static str, id: Signal<Option<usize>>| {
        let caption = move || {
            state.attention.track();
            let (layer, head) = state.enlarged.get();
            let Some(id) = id.get() else {
                return words().no_run.to_string();
            };
            state.lab.with_value(|lab| {
                let name = lab
                    .runs
                    .iter()
                    .find(|r| r.id == id)
                    .map(|r| r.name(language.get()))
                    .unwrap_or_default();
                let caption = match across_runs::run_map(lab, id, layer, head) {
                    Some(_) => words().compare_caption,
                    None => words().compare_no_map,
                };
                let (layer, head) = (layer.to_string(), head.to_string());
                fill(
                    caption,
                    &[("name", &name), ("layer", &layer), ("head", &head)],
                )
            })
        };
        view! {
            <figure class="compare-map" data-testid=format!("compare-{name}")
                data-run=move || id.get().map(|id| id.to_string())>
                {move || {
                    let (layer, head) = state.enlarged.get();
                    view! { <AttentionCanvas layer=layer head=head run=id /> }
                }}
                <figcaption>{caption}</figcaption>
            </figure>
        }
    };
    view! {
        <section class="compare" aria-label=move || words().compare_heading>
            <h2>{move || words().compare_heading}</h2>
            <p class="hint">{move || words().compare_hint}</p>
            <div class="compare-pickers">
                {run_select(0)}
                {run_select(1)}
                {number_select(0)}
                {number_select(1)}
            </div>
            <div class="compare-maps">
                {side("a", Signal::derive(move || pair.get().0))}
                {side("b", Signal::derive(move || pair.get().1))}
            </div>
        </section>
    }
}
