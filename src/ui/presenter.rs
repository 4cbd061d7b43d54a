//! Presenter mode: the page as a full-screen view for a room, in large type: the tour's stop
//! and the claim above one chosen chart (or a pair) drawn at its box's size, and the keys:
//! "p" in and out, space play/pause, "s" step, "n" the stop's next variant, arrows the tour's
//! stops, Escape out. No key acts while the visitor types in a field or a select has focus
//! (the controls' own keyboard rules stay as they are).

use leptos::html::{Canvas, Div};
use leptos::prelude::*;
use wasm_bindgen::JsCast;

use super::chart_canvas::{draw_at_box_size, ChartArea, TextSize};
use super::lab_state::LabState;
use super::language::Language;
use super::tour::{RunStop, Tour};
use crate::charts::{self, Axes, Scale};
use crate::lab::experiment_views::{experiment_chart, ExperimentChart};
use crate::lab::i18n::Lang;
use crate::lab::tour::{self, STOPS};
use crate::lab::tour_text::fill;
use crate::lab::{experiments_text, names_text, page_text, tour_text, views, Lab};
use crate::train::experiments::Experiment;

/// What fills the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PresenterView {
    Loss,
    Logit,
    LossAndLogit,
    ExperimentLoss,
}

impl PresenterView {
    /// In `PresenterText::views`' order.
    const ALL: [Self; 4] = [
        Self::Loss,
        Self::Logit,
        Self::LossAndLogit,
        Self::ExperimentLoss,
    ];

    fn charts(self) -> &'static [Chart] {
        match self {
            Self::Loss => &[Chart::Loss],
            Self::Logit => &[Chart::Logit],
            Self::LossAndLogit => &[Chart::Loss, Chart::Logit],
            Self::ExperimentLoss => &[Chart::ExperimentLoss],
        }
    }
}

/// One chart presenter mode draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chart {
    /// Every shown run's loss (as the page's loss chart).
    Loss,
    /// Every shown run's largest attention logit.
    Logit,
    /// The running experiment's validation loss, mean and min-max band over seeds.
    ExperimentLoss,
}

impl Chart {
    fn testid(self) -> &'static str {
        match self {
            Self::Loss => "presenter-chart-loss",
            Self::Logit => "presenter-chart-logit",
            Self::ExperimentLoss => "presenter-chart-experiment",
        }
    }

    /// Draws the chart and gives its title, the canvas's accessible name.
    fn draw(
        self,
        lab: &Lab,
        log_y: bool,
        lang: Lang,
        area: &ChartArea,
        scale: Scale,
    ) -> Result<String, charts::ChartError> {
        let (page, names) = (page_text::of(lang), tour_text::of(lang).presenter.views);
        let axes = |title, y, log_y| Axes {
            title,
            x: page.loss_chart.x,
            y,
            log_y,
            log_x: false,
            log_axis: page.log_axis,
        };
        match self {
            // Short titles (the views' names): the header above says the rest, and long ones
            // clip in large type.
            Self::Loss => {
                let y = views::loss_axes(lab, page).y;
                let mut lines = views::loss_lines(lab);
                names_text::name_lines(lang, &mut lines);
                charts::draw_lines(area, scale, axes(names[0], y, log_y), &lines)?;
                Ok(names[0].to_string())
            }
            Self::Logit => {
                let mut lines = views::metric_lines(lab, views::max_attention_logit);
                names_text::name_lines(lang, &mut lines);
                let axes = axes(names[1], page.logit_chart.y, false);
                charts::draw_lines(area, scale, axes, &lines)?;
                Ok(names[1].to_string())
            }
            Self::ExperimentLoss => {
                let (title, y, bands, lines) = experiment_chart(lab, lang, ExperimentChart::Loss);
                charts::draw_bands(area, scale, axes(&title, &y, false), &bands, &lines)?;
                Ok(title)
            }
        }
    }
}

/// One chart at its box's size (and the screen's pixel ratio), its text growing with the box;
/// redrawn when the charts tick, the log-scale toggle changes or the window is resized.
#[component]
fn PresenterChart(chart: Chart) -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let canvas = NodeRef::<Canvas>::new();
    let label = RwSignal::new(String::new());
    let data = move || {
        state.charts.track();
        (state.log_y.get(), language.get())
    };
    draw_at_box_size(
        canvas,
        TextSize::GrowsWithBox,
        data,
        move |area, scale, (log_y, lang)| {
            let drawn = state
                .lab
                .with_value(|lab| chart.draw(lab, log_y, lang, area, scale));
            match drawn {
                Ok(title) => label.set(title),
                Err(error) => leptos::logging::warn!("{}: {error}", chart.testid()),
            }
        },
    );
    view! {
        <figure class="presenter-chart">
            <canvas node_ref=canvas data-testid=chart.testid() role="img" aria-label=label />
        </figure>
    }
}

/// Whether a key press belongs to a field the visitor is using: inputs that take text (not
/// checkboxes, radios or buttons), text areas, selects (their arrows choose), and editable
/// content.
fn typing(ev: &web_sys::KeyboardEvent) -> bool {
    let Some(element) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlElement>().ok())
    else {
        return false;
    };
    let takes_keys = match element.tag_name().as_str() {
        "INPUT" => !matches!(
            element.get_attribute("type").as_deref(),
            Some("checkbox" | "radio" | "button" | "file")
        ),
        "TEXTAREA" | "SELECT" => true,
        _ => false,
    };
    takes_keys || element.is_content_editable()
}

/// Moves the focus to the element with `id`, if there is one.
fn focus(id: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}

/// The keys, the overlay while presenting, and its focus (the overlay on entry, so space
/// reaches no button behind it; the tour's Present button on leaving).
#[component]
pub fn Presenter() -> impl IntoView {
    let (state, tour) = (expect_context::<LabState>(), expect_context::<Tour>());
    let chosen = RwSignal::new(PresenterView::LossAndLogit);
    let overlay = NodeRef::<Div>::new();
    let leave = move || {
        tour.presenting.set(false);
        focus("tour-present");
    };
    let play_pause = move || {
        if state.playing.get_untracked() {
            state.pause();
        } else {
            state.play();
        }
    };
    let next_variant = move || {
        let name = STOPS[tour.stop.get_untracked()].experiment;
        let count = Experiment::named(name).map_or(1, |e| e.variants.len());
        let next = tour
            .variant
            .get_untracked()
            .map_or(0, |(v, _)| (v + 1) % count);
        if state.show_variant(name, next).is_some() {
            let run = state.lab.with_value(Lab::newest_id);
            tour.variant.set(run.map(|run| (next, run)));
        }
    };
    let keys = window_event_listener(leptos::ev::keydown, move |ev| {
        // Escape types nothing: it leaves presenter mode from its own view select too.
        let typed = ev.key() != "Escape" && typing(&ev);
        if typed || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
            return;
        }
        let presenting = tour.presenting.get_untracked();
        let handled = match ev.key().as_str() {
            "p" | "P" if presenting => {
                leave();
                true
            }
            "p" | "P" => {
                tour.presenting.set(true);
                true
            }
            _ if !presenting => false,
            " " => {
                play_pause();
                true
            }
            "s" | "S" => {
                state.single_step();
                true
            }
            "n" | "N" => {
                next_variant();
                true
            }
            "ArrowRight" => {
                tour.step(1);
                true
            }
            "ArrowLeft" => {
                tour.step(-1);
                true
            }
            "Escape" => {
                leave();
                true
            }
            _ => false,
        };
        if handled {
            ev.prevent_default();
        }
    });
    on_cleanup(move || keys.remove());
    Effect::new(move |_| {
        if let Some(overlay) = overlay.get() {
            let _ = overlay.focus();
        }
    });
    let language = expect_context::<Language>();
    let words = move || &language.tour().presenter;
    let stop_line = move || {
        let index = tour.stop.get();
        let lang = language.get();
        format!(
            "{} · {}",
            tour::counter(lang, index),
            language.tour().stops[index].title
        )
    };
    // The running experiment's claim, else the stop's.
    let claim = move || {
        state.version.track();
        let running = state
            .lab
            .with_value(|lab| lab.experiment.as_ref().map(|e| e.experiment));
        running
            .or_else(|| Experiment::named(STOPS[tour.stop.get()].experiment))
            .map(|e| (experiments_text::of(language.get(), e).claim, e.source))
    };
    let status = move || {
        state.progress.track();
        state.version.track();
        let (banner, newest) = state.lab.with_value(|lab| {
            let experiment = lab.experiment.as_ref();
            let banner = experiment.map(|e| (e.banner(language.get()), e.training()));
            (banner, lab.newest_id())
        });
        if let Some((banner, true)) = &banner {
            return fill(words().running, &[("banner", banner)]);
        }
        // The variant "n" trained, while it is still the newest run.
        let name = STOPS[tour.stop.get()].experiment;
        let variant = (tour.variant.get()).filter(|&(_, run)| Some(run) == newest);
        let shown = variant.zip(Experiment::named(name));
        // Else an ended or stopped experiment's banner, which says so (not "now running").
        let Some(((index, _), experiment)) = shown else {
            return banner.map_or_else(String::new, |(banner, _)| banner);
        };
        let (n, total) = (
            (index + 1).to_string(),
            experiment.variants.len().to_string(),
        );
        let label = names_text::name(language.get(), experiment.variants[index].0);
        let values = [
            ("label", label.as_str()),
            ("n", &n),
            ("total", &total),
            ("experiment", name),
        ];
        fill(words().variant, &values)
    };
    let view_index = move || {
        let shown = chosen.get();
        PresenterView::ALL
            .iter()
            .position(|&v| v == shown)
            .unwrap_or(0)
    };
    move || {
        tour.presenting.get().then(|| {
            let words = words();
            view! {
                <div class="presenter" node_ref=overlay tabindex="-1" role="dialog" aria-modal="true"
                    aria-label=words.label data-testid="presenter" data-view=move || format!("{:?}", chosen.get())>
                    <header class="presenter-head">
                        <h2 data-testid="presenter-stop">{stop_line}</h2>
                        <p data-testid="presenter-claim">
                            {move || claim().map(|(claim, source)| view! { {claim} " " <cite>{source}</cite> })}
                        </p>
                        <p class="presenter-status" data-testid="presenter-status">{status}</p>
                        <div class="presenter-buttons">
                            <button data-testid="presenter-play" on:click=move |_| play_pause()>
                                {move || if state.playing.get() { words.pause } else { words.play }}
                            </button>
                            <button data-testid="presenter-step" on:click=move |_| state.single_step()>{words.step}</button>
                            <button data-testid="presenter-variant" on:click=move |_| next_variant()>{words.next_variant}</button>
                            <button data-testid="presenter-previous" aria-label=language.tour().previous
                                on:click=move |_| tour.step(-1)>"←"</button>
                            <button data-testid="presenter-next" aria-label=language.tour().next
                                on:click=move |_| tour.step(1)>"→"</button>
                            <RunStop testid="presenter-run" />
                            <label>
                                {words.view} " "
                                <select data-testid="presenter-view" prop:value=move || view_index().to_string()
                                    on:change=move |ev| {
                                        let index: usize = event_target_value(&ev).parse().unwrap_or(0);
                                        chosen.set(PresenterView::ALL[index.min(PresenterView::ALL.len() - 1)]);
                                    }>
                                    {words.views.iter().enumerate()
                                        .map(|(i, label)| view! { <option value=i.to_string()>{*label}</option> })
                                        .collect_view()}
                                </select>
                            </label>
                            <button data-testid="presenter-leave" on:click=move |_| leave()>{words.leave}</button>
                        </div>
                        <p class="presenter-keys">{words.keys}</p>
                    </header>
                    <div class="presenter-charts">
                        {move || {
                            chosen.get().charts().iter()
                                .map(|&chart| view! { <PresenterChart chart=chart /> })
                                .collect_view()
                        }}
                    </div>
                </div>
            }
        })
    }
}
