//! The lecture experiment in lockstep (`lab::lockstep`): its banner with the claim and a stop
//! button, its own charts (validation loss as the mean over seeds with a min-max band; each
//! variant's training loss minus the first variant's), the results table and the verdicts;
//! for the learning-rate sweep its own chart and table (`ui::sweep`).

use leptos::html::Canvas;
use leptos::prelude::*;
use plotters::prelude::*;
use plotters_canvas::CanvasBackend;

use super::lab_state::LabState;
use super::language::Language;
use super::sweep::SweepResults;
use crate::charts::{self, Axes, Band, Line};
use crate::lab::experiments_text;
use crate::lab::i18n::Lang;
use crate::lab::lockstep::{self, band_chart, difference_lines, Kind};
use crate::lab::tour_text::fill;
use crate::lab::Lab;
use crate::lab::{names_text, page_text};

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
                                <BandChart testid="chart-experiment-loss" />
                                <BandChart testid="chart-experiment-difference" />
                            </div>
                            <ResultsTable />
                        }.into_any(),
                    }}
                </section>
            }
        })
    }
}

/// The experiment's variants as (bands, lines) for the chart `testid`, with its title and y
/// label.
pub(super) fn chart_of(
    lab: &Lab,
    lang: Lang,
    testid: &str,
) -> (String, String, Vec<Band>, Vec<Line>) {
    let Some(experiment) = &lab.experiment else {
        return Default::default();
    };
    let words = page_text::of(lang);
    let variants = experiment.variants();
    let name = experiment.experiment.name;
    let (title, y, bands, mut lines) = if testid == "chart-experiment-loss" {
        let (bands, lines) = band_chart(&variants);
        let title = fill(words.experiment_loss, &[("name", name)]);
        let unit = experiments_text::unit(lang, experiment.loss());
        let y = fill(words.experiment_loss_y, &[("unit", unit)]);
        (title, y, bands, lines)
    } else {
        let first = variants
            .first()
            .map_or(String::new(), |v| names_text::name(lang, &v.label));
        let title = fill(words.experiment_difference, &[("first", &first)]);
        (
            title,
            words.experiment_difference_y.into(),
            Vec::new(),
            difference_lines(&variants),
        )
    };
    // The legend names the variants in the page's language.
    for line in &mut lines {
        line.label = names_text::name(lang, &line.label);
    }
    (title, y, bands, lines)
}

/// One of the experiment's charts on a canvas, redrawn when the charts tick.
#[component]
fn BandChart(testid: &'static str) -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let canvas = NodeRef::<Canvas>::new();
    // The canvas's accessible name: the chart's title.
    let label = RwSignal::new(String::new());
    // Reactive state meets the outside world: the canvas is drawn by plotters, not the DOM.
    Effect::new(move |_| {
        state.charts.track();
        let Some(canvas) = canvas.get() else {
            return;
        };
        let lang = language.get();
        let (title, y, bands, lines) = state.lab.with_value(|lab| chart_of(lab, lang, testid));
        label.set(title.clone());
        let Some(backend) = CanvasBackend::with_canvas_object(canvas) else {
            return;
        };
        let axes = Axes {
            title: &title,
            x: page_text::of(lang).loss_chart.x,
            y: &y,
            log_y: false,
            log_x: false,
        };
        let area = backend.into_drawing_area();
        if let Err(error) = charts::draw_bands(&area, axes, &bands, &lines) {
            leptos::logging::warn!("{title}: {error}");
        }
    });
    view! {
        <figure class="chart">
            <canvas node_ref=canvas width="560" height="300" data-testid=testid role="img"
                aria-label=label />
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
            let header = lockstep::results_header(&page_text::of(lang).results_header, unit);
            let rows = lockstep::results_rows(lang, &variants);
            let verdicts = match experiment.kind {
                Kind::Marked { .. } => Verdicts::NoClaim,
                _ => match experiment.judged() {
                    Some(judged) => Verdicts::Judged(
                        (judged.iter())
                            .map(|judged| lockstep::verdict_line(lang, judged))
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
                <table class="results" data-testid="experiment-results">
                    <thead><tr>{header.into_iter().map(|h| view! { <th>{h}</th> }).collect_view()}</tr></thead>
                    <tbody>
                        {rows
                            .into_iter()
                            .map(|row| view! { <tr>{row.into_iter().map(|c| view! { <td>{c}</td> }).collect_view()}</tr> })
                            .collect_view()}
                    </tbody>
                </table>
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
