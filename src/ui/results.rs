//! The lecture experiment in lockstep (`lab::lockstep`): its banner with the claim and a stop
//! button, its own charts (validation loss as the mean over seeds with a min-max band; each
//! variant's training loss minus the first variant's), the results table and the verdicts;
//! for the learning-rate sweep its own chart and table (`ui::sweep`).

use leptos::html::Canvas;
use leptos::prelude::*;

use super::chart_canvas::{draw_at_box_size, TextSize};
use super::lab_state::LabState;
use super::language::Language;
use super::sweep::SweepResults;
use crate::charts::{self, Axes};
use crate::lab::experiment_views::{
    experiment_chart, results_header, results_rows, verdict_line, ExperimentChart,
};
use crate::lab::experiments_text;
use crate::lab::lockstep::Kind;
use crate::lab::page_text;
use crate::lab::Lab;

/// A table of results (the experiment's, the sweep's): a header row, then a row of cells each.
pub(super) fn results_table<Row: IntoIterator<Item = String>>(
    testid: &'static str,
    header: impl IntoIterator<Item = String>,
    rows: impl IntoIterator<Item = Row>,
) -> impl IntoView {
    let cells = |row: Row| {
        row.into_iter()
            .map(|c| view! { <td>{c}</td> })
            .collect_view()
    };
    let header = (header.into_iter())
        .map(|h| view! { <th>{h}</th> })
        .collect_view();
    let body = (rows.into_iter())
        .map(|row| view! { <tr>{cells(row)}</tr> })
        .collect_view();
    view! {
        <table class="results" data-testid=testid>
            <thead><tr>{header}</tr></thead>
            <tbody>{body}</tbody>
        </table>
    }
}

/// The experiment's panel, while there is one.
#[component]
pub fn ExperimentPanel() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let claim = move || {
        state.version.track();
        let lang = language.get();
        state.lab.with_value(|lab| {
            let experiment = lab.experiment.as_ref()?;
            let sweep = matches!(experiment.kind, Kind::Sweep { .. });
            let experiment = experiment.experiment;
            let text = experiments_text::of(lang, experiment);
            Some((text.claim, experiment.source, text.watch, sweep))
        })
    };
    // Reads that arrive after the loop's last turn redraw the charts only.
    let banner = move || {
        state.progress.track();
        state.charts.track();
        state.version.track();
        state
            .lab
            .with_value(|lab| lab.experiment.as_ref().map(|e| e.banner(language.get())))
    };
    let training = move || {
        state.progress.track();
        state.charts.track();
        state.lab.with_value(Lab::experiment_training)
    };
    move || {
        claim().map(|(claim, source, watch, sweep)| {
            view! {
                <section class="experiment-panel" data-testid="experiment-panel">
                    <div class="experiment-banner" data-testid="experiment-banner" role="status">
                        <strong>{banner}</strong>
                        <p>{claim} " " <cite>{source}</cite></p>
                        <p>{move || language.page().watch} {watch}</p>
                        <button data-testid="experiment-stop" disabled=move || !training()
                            on:click=move |_| state.stop_experiment()>{move || language.page().stop_experiment}</button>
                    </div>
                    {match sweep {
                        true => view! { <SweepResults /> }.into_any(),
                        false => view! {
                            <div class="charts">
                                <BandChart chart=ExperimentChart::Loss />
                                <BandChart chart=ExperimentChart::Difference />
                            </div>
                            <ResultsTable />
                        }.into_any(),
                    }}
                </section>
            }
        })
    }
}

/// One of the experiment's charts on a canvas at its box's size, redrawn when the charts tick.
#[component]
fn BandChart(chart: ExperimentChart) -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let canvas = NodeRef::<Canvas>::new();
    // The canvas's accessible name: the chart's title.
    let label = RwSignal::new(String::new());
    let data = move || {
        state.charts.track();
        let lang = language.get();
        (
            lang,
            state
                .lab
                .with_value(|lab| experiment_chart(lab, lang, chart)),
        )
    };
    draw_at_box_size(canvas, TextSize::Page, data, move |area, scale, data| {
        let (lang, (title, y, bands, lines)) = data;
        label.set(title.clone());
        let axes = Axes {
            title: &title,
            x: page_text::of(lang).loss_chart.x,
            y: &y,
            log_y: false,
            log_x: false,
            log_axis: page_text::of(lang).log_axis,
        };
        if let Err(error) = charts::draw_bands(area, scale, axes, &bands, &lines) {
            leptos::logging::warn!("{title}: {error}");
        }
    });
    view! {
        <figure class="chart">
            <canvas node_ref=canvas data-testid=chart.testid() role="img" aria-label=label />
        </figure>
    }
}

/// What the results table says under its rows.
enum Verdicts {
    /// The verdict line of each claim.
    Judged(Vec<String>),
    /// Lanes still train (or were stopped): no verdict yet.
    Coming,
    /// Marked runs: no claim to judge.
    NoClaim,
}

/// Per variant the numbers over its seeds, filling while the lanes train; then the verdict on
/// each claim by the stated rule.
#[component]
fn ResultsTable() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let table = move || {
        state.charts.track();
        let lang = language.get();
        state.lab.with_value(|lab| {
            let experiment = lab.experiment.as_ref()?;
            let variants = experiment.variants();
            let unit = experiments_text::unit(lang, experiment.loss());
            let header = results_header(&page_text::of(lang).results_header, unit);
            let rows = results_rows(lang, &variants);
            let verdicts = match experiment.kind {
                Kind::Marked { .. } => Verdicts::NoClaim,
                _ => match experiment.judged() {
                    Some(judged) => Verdicts::Judged(
                        (judged.iter())
                            .map(|judged| verdict_line(lang, judged))
                            .collect(),
                    ),
                    None => Verdicts::Coming,
                },
            };
            Some((header, rows, verdicts))
        })
    };
    move || {
        table().map(|(header, rows, verdicts)| {
            let judged_by_rule = !matches!(verdicts, Verdicts::NoClaim);
            view! {
                {results_table("experiment-results", header, rows)}
                <div class="verdicts" data-testid="experiment-verdicts">
                    {match verdicts {
                        Verdicts::Judged(lines) => lines.into_iter().map(|l| view! { <p>{l}</p> }).collect_view().into_any(),
                        Verdicts::Coming => view! { <p>{move || language.page().verdict_waits}</p> }.into_any(),
                        Verdicts::NoClaim => view! { <p>{move || language.page().verdict_no_claim}</p> }.into_any(),
                    }}
                    {judged_by_rule.then(|| view! {
                        <p class="hint">
                            {move || language.page().rule}
                            {move || experiments_text::rule(language.get())}
                        </p>
                    })}
                </div>
            }
        })
    }
}
