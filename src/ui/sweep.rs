//! The learning-rate sweep in the page (`lab::sweep`): where it starts (its claim, the
//! learning rates to try, a Run button) and what it shows (final validation loss against the
//! learning rate on a log axis with diverged rates marked, and the table `archlab sweep`
//! writes).

use leptos::html::Canvas;
use leptos::prelude::*;

use super::chart_canvas::{draw_at_box_size, TextSize};
use super::lab_state::LabState;
use super::language::Language;
use super::results::results_table;
use crate::charts::{self, Axes};
use crate::lab::tour_text::fill;
use crate::lab::{experiments_text, names_text, page_text, sweep};
use crate::train::sweep::{lr_text, PAGE_LRS, PAGE_VARIANTS, SWEEP};

/// The sweep among the lecture experiments: its claim, the learning rates (editable, the
/// page's by default) and the button that trains them all in lockstep.
#[component]
pub fn SweepControls() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let text = move || experiments_text::of(language.get(), &SWEEP);
    let lrs = RwSignal::new(
        PAGE_LRS
            .iter()
            .map(|&lr| lr_text(lr))
            .collect::<Vec<_>>()
            .join(", "),
    );
    view! {
        <details class="experiment" data-testid="sweep-controls">
            <summary>{move || words().sweep_summary} {move || text().section}</summary>
            <p class="claim">{move || text().claim} " " <cite>{SWEEP.source}</cite></p>
            <p class="claim">{move || words().watch} {move || text().watch}</p>
            <p class="hint">
                {move || {
                    let variants = PAGE_VARIANTS.map(|v| names_text::name(language.get(), v));
                    let hint = fill(words().sweep_hint, &[("variants", &variants.join(" / "))]);
                    let (before, after) = hint.split_once("{command}").unwrap_or((hint.as_str(), ""));
                    view! { {before.to_string()} <code>"archlab sweep"</code> {after.to_string()} }
                }}
            </p>
            <label>
                {move || words().sweep_lrs}
                <input type="text" data-testid="sweep-lrs" prop:value=lrs
                    on:input=move |ev| lrs.set(event_target_value(&ev)) />
            </label>
            <button data-testid="sweep-run"
                on:click=move |_| state.start_sweep(&lrs.get_untracked())>
                {move || words().sweep_run}
            </button>
        </details>
    }
}

/// The sweep's chart and table, filling as learning rates finish or diverge.
#[component]
pub fn SweepResults() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let canvas = NodeRef::<Canvas>::new();
    let chart = move || {
        state.charts.track();
        let lang = language.get();
        let chart = state.lab.with_value(|lab| {
            let experiment = lab.experiment.as_ref()?;
            Some(sweep::chart(
                &experiment.sweep_labels(),
                &experiment.sweep_cells()?,
            ))
        });
        (lang, chart)
    };
    draw_at_box_size(
        canvas,
        TextSize::Page,
        chart,
        move |area, scale, (lang, chart)| {
            let Some((mut lines, marks)) = chart else {
                return;
            };
            names_text::name_lines(lang, &mut lines);
            let page = page_text::of(lang);
            let words = page.sweep_chart;
            let axes = Axes {
                title: words.title,
                x: words.x,
                y: words.y,
                log_y: false,
                log_x: true,
                log_axis: page.log_axis,
            };
            if let Err(error) =
                charts::draw_points(area, scale, axes, &lines, &marks, page.sweep_diverged)
            {
                leptos::logging::warn!("sweep chart: {error}");
            }
        },
    );
    let table = move || {
        state.charts.track();
        let lang = language.get();
        let (header, rows) = state
            .lab
            .with_value(|lab| lab.experiment.as_ref()?.sweep_table())?;
        // The command line's words (`train::sweep::rows`), in the page's language.
        let name = |text: String| names_text::name(lang, &text);
        let rows = (rows.into_iter())
            .map(|row| row.into_iter().map(name).collect::<Vec<_>>())
            .collect::<Vec<_>>();
        Some((header.into_iter().map(name).collect::<Vec<_>>(), rows))
    };
    view! {
        <div class="charts">
            <figure class="chart">
                <canvas node_ref=canvas data-testid="chart-sweep"
                    role="img" aria-label=move || words().sweep_chart_label />
                <figcaption>{move || words().sweep_caption}</figcaption>
            </figure>
        </div>
        {move || {
            table().map(|(header, rows)| {
                view! {
                    {results_table("sweep-results", header, rows)}
                    <p class="hint">{move || words().sweep_table_hint}</p>
                }
            })
        }}
    }
}
