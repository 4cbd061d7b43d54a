//! The live views: toolbar and readouts, the runs, the charts, the attention maps and the
//! text sample. Each reads the lab through `LabState` and draws plain data from `lab::views`.

use leptos::html::Canvas;
use leptos::prelude::*;
use plotters::prelude::*;

use super::chart_canvas::{draw_at_box_size, TextSize};
use super::lab_state::LabState;
use super::language::Language;
use crate::charts::{self, Axes, Dash, Line, MapArea, PALETTE};
use crate::lab::i18n;
use crate::lab::page_text::{ChartText, PageText};
use crate::lab::tour_text::fill;
use crate::lab::{self, across_runs, export, names_text, views, Lab};
use crate::model::numbers::{bytes, count};
use crate::train::metrics;

/// Play/pause, step, reset, and the readouts of the controls' configuration.
#[component]
pub fn Toolbar(device: Signal<String>) -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let readouts = move || {
        state.version.track();
        state.lab.with_value(views::readouts)
    };
    let tokens = move || {
        state.progress.track();
        let playing = state.playing.get();
        state
            .lab
            .with_value(|lab| views::tokens_per_second(lab, playing))
    };
    // The run tokens/s measures; the other readouts are of the controls' settings.
    let tokens_label = move || {
        state.progress.track();
        let playing = state.playing.get();
        state
            .lab
            .with_value(|lab| views::tokens_label(lab, playing, words()))
    };
    // What Play trains, or why nothing: after an experiment it goes on with the waiting run.
    let play_title = move || {
        state.progress.track();
        state.version.track();
        state.lab.with_value(|lab| lab.play_title(language.get()))
    };
    // Marked, not disabled: it stays one Tab after the skip link, its title saying why.
    let cannot_play = move || {
        state.progress.track();
        state.version.track();
        !state.playing.get() && !state.lab.with_value(Lab::can_play)
    };
    let engine = move || {
        state.version.track();
        state
            .lab
            .with_value(|lab| lab.runs.last()?.engine.as_deref().map(|e| e.describe()))
            .map(|engine| i18n::translate(language.get(), &engine))
            .unwrap_or_else(|| words().no_run.into())
    };
    let settings_label =
        move |index: usize| Signal::derive(move || words().readouts[index].to_string());
    // Each readout writes its number in its own way: counts in decimal units, bytes in binary.
    let readout = |testid: &'static str,
                   label: Signal<String>,
                   value: Signal<Option<f64>>,
                   write: fn(f64) -> String| {
        view! {
            <div class="readout" data-testid=testid data-value=move || value.get().map(|v| v.to_string())>
                <span class="readout-label">{label}</span>
                <span class="readout-value">
                    {move || value.get().map_or_else(|| "—".to_string(), write)}
                </span>
            </div>
        }
    };
    view! {
        <section class="toolbar" id="run-controls" tabindex="-1" aria-label=move || words().training>
            <div class="buttons">
                <button
                    data-testid="play"
                    aria-pressed=move || state.playing.get().to_string()
                    title=play_title
                    aria-disabled=move || cannot_play().to_string()
                    on:click=move |_| if state.playing.get_untracked() { state.pause() } else { state.play() }
                >
                    {move || if state.playing.get() { words().pause } else { words().play }}
                </button>
                <button data-testid="step" on:click=move |_| state.single_step()>{move || words().step}</button>
                <button data-testid="reset" on:click=move |_| state.reset()>{move || words().reset}</button>
                <label class="inline">
                    <input type="checkbox" data-testid="log-scale" prop:checked=state.log_y
                        on:change=move |ev| state.log_y.set(event_target_checked(&ev)) />
                    {move || words().log_scale}
                </label>
                <label class="inline">
                    {move || words().smoothing}
                    <select data-testid="smoothing"
                        on:change=move |ev| state.set_smoothing(event_target_value(&ev).parse().unwrap_or(0.0))>
                        <option value="0">{move || words().none}</option>
                        <option value="0.6">"0.6"</option>
                        <option value="0.9">"0.9"</option>
                        <option value="0.97">"0.97"</option>
                    </select>
                </label>
            </div>
            <div class="readouts">
                {readout("readout-params", settings_label(0), Signal::derive(move || readouts().map(|r| r.0 as f64)), count)}
                {readout("readout-flops", settings_label(1), Signal::derive(move || readouts().map(|r| r.1)), count)}
                {readout("readout-kv", settings_label(2), Signal::derive(move || readouts().map(|r| r.2 as f64)), bytes)}
                {readout("readout-tokens", Signal::derive(tokens_label), Signal::derive(tokens), count)}
            </div>
            <p class="engine" data-testid="engine">
                {move || words().engine} {engine} " · " {move || device.get()}
            </p>
            <super::engine_choice::EngineSwitch />
            {move || {
                state.version.track();
                let notice = state.lab.with_value(|lab| lab.engine_notice.clone());
                notice.map(|notice| {
                    let notice = i18n::translate(language.get(), &notice);
                    view! { <p class="warning" role="status" data-testid="engine-notice">{notice}</p> }
                })
            }}
        </section>
    }
}

/// Why the controls' configuration cannot train, each reason with a button that moves the
/// focus to its control (where the same reason is shown).
#[component]
pub fn Problems() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let problems = move || {
        state.version.track();
        state.lab.with_value(Lab::problems)
    };
    view! {
        <Show when=move || !problems().is_empty()>
            <div class="problems" role="alert" data-testid="problems">
                <strong data-testid="problems-heading">
                    {move || {
                        state.progress.track();
                        state.version.track();
                        state.lab.with_value(|lab| views::problems_heading(lab, language.page()))
                    }}
                </strong>
                <ul>
                    {move || {
                        problems()
                            .into_iter()
                            .map(|(key, message)| {
                                let go = key.map(|key| {
                                    view! {
                                        <button on:click=move |_| focus(&super::controls::control_id(key))>
                                            {language.page().go_to_control}
                                        </button>
                                    }
                                });
                                view! { <li>{message} " " {go}</li> }
                            })
                            .collect_view()
                    }}
                </ul>
            </div>
        </Show>
    }
}

/// Focuses (and so scrolls to) the element with this id.
fn focus(id: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id));
    if let Some(element) = element {
        use wasm_bindgen::JsCast;
        if let Ok(element) = element.dyn_into::<web_sys::HtmlElement>() {
            let _ = element.focus();
        }
    }
}

/// Every run, named and coloured, with hide and remove.
#[component]
pub fn RunsList() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let runs = move || {
        state.version.track();
        state.lab.with_value(|lab| {
            lab.runs
                .iter()
                .map(|r| {
                    (
                        r.id,
                        r.name(language.get()),
                        r.color,
                        views::run_dash(r),
                        r.hidden,
                        r.marked,
                    )
                })
                .collect::<Vec<_>>()
        })
    };
    let marked = move || {
        state.version.track();
        state.lab.with_value(|lab| lab.marked().len())
    };
    view! {
        <section class="runs" aria-label=move || words().runs>
            <h2>{move || words().runs}</h2>
            <p class="compare">
                <button data-testid="compare-marked" disabled=move || marked() < 2
                    title=move || words().compare_marked_title
                    on:click=move |_| state.start_compare()>{move || words().compare_marked}</button>
                " " {move || fill(words().marked_count, &[("n", &marked().to_string())])}
            </p>
            <ul data-testid="runs">
                {move || {
                    runs()
                        .into_iter()
                        .map(|(id, name, color, dash, hidden, marked)| {
                            let status = move || {
                                state.progress.track();
                                state.lab.with_value(|lab| {
                                    let run = lab.runs.iter().find(|r| r.id == id)?;
                                    Some(views::status_text(run, &words().status))
                                })
                            };
                            let stroke = match dash {
                                Dash::Solid => "solid",
                                Dash::Dashed => "dashed",
                                Dash::Dotted => "dotted",
                            };
                            // Set through the CSSOM (style:), which the page's
                            // Content-Security-Policy allows; a style attribute it would block.
                            let swatch = format!("4px {stroke} {}", css(PALETTE[color]));
                            view! {
                                <li class:hidden-run=hidden data-testid=format!("run-{id}")>
                                    <input type="checkbox" data-testid=format!("mark-{id}") prop:checked=marked
                                        aria-label=move || fill(words().mark_run, &[("id", &id.to_string())]) on:change=move |_| state.toggle_marked(id) />
                                    <span class="swatch" style:border-top=swatch></span>
                                    <span class="run-name">{name}</span>
                                    <span class="run-status">{status}</span>
                                    <button data-testid=format!("hide-{id}") on:click=move |_| state.toggle_hidden(id)>
                                        {move || if hidden { words().show } else { words().hide }}
                                    </button>
                                    <button data-testid=format!("remove-{id}") on:click=move |_| state.remove(id)>{move || words().remove}</button>
                                    <button data-testid=format!("export-json-{id}") title=move || words().json_title
                                        on:click=move |_| export_run(state, id, ".json", "application/json", export::run_json)>
                                        "JSON"
                                    </button>
                                    <button data-testid=format!("export-csv-{id}") title=move || words().csv_title
                                        on:click=move |_| export_run(state, id, "-metrics.csv", "text/csv", |run| metrics::csv(&run.session.history))>
                                        "CSV"
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
        </section>
    }
}

/// Downloads run `id` as `text(run)` in a file named after it ending in `suffix`.
fn export_run(
    state: LabState,
    id: usize,
    suffix: &str,
    mime: &str,
    text: fn(&lab::RunEntry) -> String,
) {
    let file = state.lab.with_value(|lab| {
        let run = lab.runs.iter().find(|r| r.id == id)?;
        Some((export::file_name(run, suffix), text(run)))
    });
    if let Some((name, text)) = file {
        if let Err(error) = download(&name, mime, &text.into()) {
            leptos::logging::warn!("exporting {name}: {error:?}");
        }
    }
}

/// Offers `content` (a string or a `Uint8Array`) as a file: a Blob URL behind a temporary
/// `<a download>`, revoked once the browser has taken it.
pub fn download(
    name: &str,
    mime: &str,
    content: &wasm_bindgen::JsValue,
) -> Result<(), wasm_bindgen::JsValue> {
    let parts = js_sys::Array::of1(content);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    download_url(name, &url)?;
    set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(10),
    );
    Ok(())
}

/// Clicks a temporary `<a download=name href=href>`.
fn download_url(name: &str, href: &str) -> Result<(), wasm_bindgen::JsValue> {
    use wasm_bindgen::JsCast;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link: web_sys::HtmlAnchorElement = document.create_element("a")?.unchecked_into();
    link.set_href(href);
    link.set_download(name);
    link.click();
    Ok(())
}

/// Downloads a canvas as a PNG file.
fn download_png(canvas: &web_sys::HtmlCanvasElement, name: &str) {
    let result = canvas
        .to_data_url_with_type("image/png")
        .and_then(|url| download_url(name, &url));
    if let Err(error) = result {
        leptos::logging::warn!("exporting {name}: {error:?}");
    }
}

pub(super) fn css(color: RGBColor) -> String {
    format!("rgb({}, {}, {})", color.0, color.1, color.2)
}

fn newest(lab: &Lab, lines: fn(&lab::RunEntry) -> Vec<Line>) -> Vec<Line> {
    lab.runs.last().map(lines).unwrap_or_default()
}

/// The loss chart: on the first screen, beside the attention maps.
#[component]
pub fn LossChart() -> impl IntoView {
    view! {
        <LineChart testid="chart-loss" text=|t| t.loss_chart
            log=None lines=views::loss_lines axes=views::loss_axes />
    }
}

/// The other line charts, below the first screen.
#[component]
pub fn Charts() -> impl IntoView {
    view! {
        <section class="charts">
            <LineChart testid="chart-profile" text=|t| t.profile_chart
                log=Some(false) lines=|lab| newest(lab, views::profile_lines) />
            <LineChart testid="chart-grad" text=|t| t.grad_chart
                log=Some(true) lines=|lab| views::metric_lines(lab, |r| r.grad_norm) />
            <LineChart testid="chart-lr" text=|t| t.lr_chart
                log=Some(false) lines=|lab| views::metric_lines(lab, |r| r.lr) />
            <LineChart testid="chart-logit" text=|t| t.logit_chart
                log=Some(false) lines=|lab| views::metric_lines(lab, views::max_attention_logit) />
        </section>
    }
}

/// A chart's words, picked from the page's words in its language.
pub(super) type ChartWords = fn(&PageText) -> ChartText;

/// A chart's words chosen from the runs as well (the loss chart's unit).
type ChartAxes = fn(&Lab, &PageText) -> ChartText;

/// One line chart on a canvas, redrawn when the charts tick, when the language changes (and
/// when a signal `lines` reads changes, such as a picked layer). `log`: fixed, or None to
/// follow the log-scale toggle. `axes`, where given, picks the drawn words from the runs (the
/// loss chart's unit); `text`'s title stays the canvas's accessible name. The canvas's
/// `data-lines` counts the lines drawn with points, for the tests.
#[component]
pub(super) fn LineChart(
    testid: &'static str,
    text: ChartWords,
    log: Option<bool>,
    lines: impl Fn(&Lab) -> Vec<Line> + 'static,
    #[prop(optional)] axes: Option<ChartAxes>,
    /// A dot at each point: a few points, such as one per layer.
    #[prop(optional)]
    dots: bool,
) -> impl IntoView {
    let language = expect_context::<Language>();
    let title = move || text(language.page()).title;
    let state = expect_context::<LabState>();
    let canvas = NodeRef::<Canvas>::new();
    let drawn = RwSignal::new(0);
    let data = move || {
        state.charts.track();
        let log_y = log.unwrap_or_else(|| state.log_y.get());
        let words = language.page();
        let lang = language.get();
        state.lab.with_value(|lab| {
            let text = axes.map_or(text(words), |axes| axes(lab, words));
            let mut data = lines(lab);
            names_text::name_lines(lang, &mut data);
            (data, text, words.log_axis, log_y)
        })
    };
    draw_at_box_size(
        canvas,
        TextSize::Page,
        data,
        move |area, scale, (data, text, log_axis, log_y)| {
            drawn.set(data.iter().filter(|line| !line.points.is_empty()).count());
            let ChartText { title, x, y } = text;
            let axes = Axes {
                title,
                x,
                y,
                log_y,
                log_x: false,
                log_axis,
            };
            let result = super::start_marks::timed(testid, || match dots {
                true => charts::draw_points(area, scale, axes, &data, &[], ""),
                false => charts::draw_lines(area, scale, axes, &data),
            });
            if let Err(error) = result {
                leptos::logging::warn!("{title}: {error}");
            }
        },
    );
    let png = move |_| {
        if let Some(canvas) = canvas.get_untracked() {
            download_png(&canvas, &format!("archlab-{testid}.png"));
        }
    };
    view! {
        <figure class="chart">
            <canvas node_ref=canvas data-testid=testid role="img" aria-label=title
                data-lines=move || drawn.get().to_string() />
            <button class="png" data-testid=format!("{testid}-png")
                aria-label=move || fill(language.page().download_png, &[("title", title())])
                on:click=png>"PNG"</button>
        </figure>
    }
}

/// The newest run's attention maps: layers down, heads across, each a button that enlarges it.
#[component]
pub fn AttentionGrid() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let probe = RwSignal::new(String::new());
    let (probe_error, set_probe_error) = signal(None::<String>);
    let look = move || set_probe_error.set(state.look_at(&probe.get_untracked()).err());
    // (snapshots, the slider's position, what is shown) of the newest run.
    let snapshots = move || {
        state.attention.track();
        state.lab.with_value(|lab| {
            let Some(run) = lab.runs.last() else {
                return (0, 0, String::new());
            };
            let count = run.snapshots.len();
            match run.shown().0 {
                Some(step) => {
                    let step = step.to_string();
                    let shown = fill(words().at_step, &[("step", &step)]);
                    (count, run.scrub.unwrap_or(0), shown)
                }
                None => (count, count.saturating_sub(1), words().at_live.to_string()),
            }
        })
    };
    let norms = move || {
        state.attention.track();
        state.lab.with_value(|lab| {
            let run = lab.runs.last()?;
            let layers: Vec<String> = run
                .shown()
                .1
                .norms
                .iter()
                .enumerate()
                .map(|(l, n)| {
                    let layer = fill(words().layer_n, &[("l", &l.to_string())]);
                    format!("{layer}: {:.3} / {:.3} / {:.3}", n.residual, n.attn, n.mlp)
                })
                .collect();
            (!layers.is_empty()).then(|| layers.join(" · "))
        })
    };
    let shape = move || {
        state.version.track();
        state.lab.with_value(|lab| {
            lab.runs.last().map_or((0, 0), |r| {
                (r.session.run.model.n_layers, r.session.run.model.n_heads)
            })
        })
    };
    view! {
        <section class="attention" aria-label=move || words().attention_heading>
            <h2>{move || words().attention_heading}</h2>
            <div class="attention-views">
                // Square maps, the grid no taller than wide: its width is the heads' share of
                // the larger of layers and heads.
                <div class="attention-grid" data-testid="attention-grid"
                    style:grid-template-columns=move || format!("repeat({}, minmax(0, 1fr))", shape().1.max(1))
                    style:width=move || {
                        let (layers, heads) = shape();
                        format!("{}%", 100 * heads.max(1) / layers.max(heads).max(1))
                    }>
                    {move || {
                        let (layers, heads) = shape();
                        (0..layers)
                            .flat_map(|layer| (0..heads).map(move |head| (layer, head)))
                            .map(|(layer, head)| {
                                // Also the tooltip: a thumbnail too small for its caption.
                                let enlarge = move || {
                                    let (layer, head) = (layer.to_string(), head.to_string());
                                    fill(words().enlarge, &[("layer", &layer), ("head", &head)])
                                };
                                view! {
                                    <button
                                        class="map-button"
                                        class:selected=move || state.enlarged.get() == (layer, head)
                                        data-testid=format!("map-{layer}-{head}")
                                        aria-label=enlarge
                                        title=enlarge
                                        on:click=move |_| state.enlarged.set((layer, head))
                                    >
                                        <AttentionCanvas layer=layer head=head />
                                    </button>
                                }
                            })
                            .collect_view()
                    }}
                </div>
                <div class="attention-enlarged" data-testid="attention-enlarged"
                    style:display=move || if shape().0 == 0 { "none" } else { "" }>
                    <EnlargedMap />
                    <p class="tokens" data-testid="tokens">
                        {move || words().tokens}
                        {move || {
                            state.attention.track();
                            state
                                .lab
                                .with_value(views::display_tokens)
                                .into_iter()
                                .enumerate()
                                .map(|(i, token)| {
                                    let title = fill(words().position, &[("i", &i.to_string())]);
                                    view! { <span class="token" title=title translate="no">{token}</span> }
                                })
                                .collect_view()
                        }}
                    </p>
                </div>
            </div>
            <p class="hint">{move || words().attention_hint}</p>
            <div class="look-at">
                <label>
                    {move || words().look_at}
                    <input type="text" data-testid="look-at" size="40"
                        placeholder=move || words().look_at_placeholder
                        prop:value=probe
                        on:input=move |ev| probe.set(event_target_value(&ev))
                        on:change=move |_| look() />
                </label>
                <button data-testid="look-at-button" on:click=move |_| look()>{move || words().show}</button>
                {move || words().look_at_empty}
                {move || probe_error.get().map(|error| view! {
                    <span class="error" role="alert" data-testid="look-at-error">
                        {i18n::translate(language.get(), &error)}
                    </span>
                })}
            </div>
            <div class="scrub" style:display=move || { if snapshots().0 > 1 { "" } else { "none" } }>
                <label>
                    {move || words().back_in_training}
                    <input type="range" data-testid="scrub" min="0"
                        prop:max=move || snapshots().0.saturating_sub(1)
                        prop:value=move || snapshots().1
                        on:input=move |ev| state.scrub(event_target_value(&ev).parse().ok()) />
                </label>
                " " <span data-testid="scrub-step">{move || snapshots().2}</span> " "
                <button data-testid="scrub-live" on:click=move |_| state.scrub(None)>{move || words().live}</button>
            </div>
            <p class="hint" data-testid="example-norms">
                {move || words().example_norms}
                {norms}
            </p>
        </section>
    }
}

/// The enlarged map with its cell read-out: the pointer, or the arrow keys once it has the
/// focus, pick a cell; `lab::views` names it.
#[component]
fn EnlargedMap() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let placed = StoredValue::new(None::<MapArea>);
    let cursor = RwSignal::new(None::<(usize, usize)>);
    let t = move || {
        state
            .lab
            .with_value(|lab| lab.runs.last().map_or(0, |r| r.example.tokens.len()))
    };
    let readout = move || {
        state.attention.track();
        let (layer, head) = state.enlarged.get();
        let (q, k) = cursor.get()?;
        state
            .lab
            .with_value(|lab| views::attention_cell_text(lab, language.get(), layer, head, q, k))
    };
    let pointed = move |ev: leptos::ev::MouseEvent| {
        use wasm_bindgen::JsCast;
        let canvas = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlCanvasElement>().ok());
        let (Some(canvas), Some(area)) = (canvas, placed.get_value()) else {
            return;
        };
        // The canvas may be shown scaled: pointer offsets are in CSS pixels.
        let scale = f64::from(canvas.width()) / f64::from(canvas.client_width().max(1));
        let (x, y) = (
            f64::from(ev.offset_x()) * scale,
            f64::from(ev.offset_y()) * scale,
        );
        if let Some(cell) = area.cell_at(t(), x, y) {
            cursor.set(Some(cell));
        }
    };
    let key = move |ev: leptos::ev::KeyboardEvent| {
        let last = t().saturating_sub(1);
        let (q, k) = cursor.get_untracked().unwrap_or((0, 0));
        let moved = match ev.key().as_str() {
            "ArrowUp" => (q.saturating_sub(1), k),
            "ArrowDown" => ((q + 1).min(last), k),
            "ArrowLeft" => (q, k.saturating_sub(1)),
            "ArrowRight" => (q, (k + 1).min(last)),
            _ => return,
        };
        ev.prevent_default();
        cursor.set(Some(moved));
    };
    let map = NodeRef::<leptos::html::Div>::new();
    let png = move |_| {
        use wasm_bindgen::JsCast;
        let canvas = map
            .get_untracked()
            .and_then(|div| div.query_selector("canvas").ok().flatten())
            .and_then(|canvas| canvas.dyn_into::<web_sys::HtmlCanvasElement>().ok());
        if let Some(canvas) = canvas {
            let (layer, head) = state.enlarged.get_untracked();
            download_png(
                &canvas,
                &format!("archlab-attention-layer{layer}-head{head}.png"),
            );
        }
    };
    view! {
        <div
            node_ref=map
            class="enlarged-map"
            tabindex="0"
            role="group"
            data-testid="enlarged-map"
            aria-label=move || words().enlarged_label
            on:mousemove=pointed
            on:focus=move |_| if cursor.get_untracked().is_none() { cursor.set(Some((0, 0))) }
            on:keydown=key
        >
            {move || {
                let (layer, head) = state.enlarged.get();
                view! { <AttentionCanvas layer=layer head=head placed=placed /> }
            }}
        </div>
        <p class="cell-readout" data-testid="attention-readout" aria-live="polite">
            {move || readout().unwrap_or_else(|| words().point_at_cell.into())}
        </p>
        <button data-testid="attention-png" on:click=png>{move || words().map_png}</button>
    }
}

/// One attention map on a canvas at its box's size, of run `run` (by id; without it, the
/// newest run's); `placed` (the enlarged map's) receives where its cells are.
#[component]
pub(super) fn AttentionCanvas(
    layer: usize,
    head: usize,
    #[prop(optional)] placed: Option<StoredValue<Option<MapArea>>>,
    #[prop(optional)] run: Option<Signal<Option<usize>>>,
) -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let canvas = NodeRef::<Canvas>::new();
    // The map and its words: a switch of language draws it again.
    let map = move || {
        state.attention.track();
        let id = run.map_or_else(|| state.lab.with_value(Lab::newest_id), |run| run.get());
        let map = (state.lab).with_value(|lab| across_runs::run_map(lab, id?, layer, head));
        (map, language.page().attention_map)
    };
    draw_at_box_size(
        canvas,
        TextSize::Page,
        map,
        move |area, scale, (map, text)| {
            let maps: Vec<_> = map.into_iter().collect();
            let drawn = super::start_marks::timed("attention-map", || {
                charts::draw_attention_grid(area, scale, "", text, &maps)
            });
            match drawn {
                Ok(areas) => {
                    if let Some(placed) = placed {
                        placed.set_value(areas.first().copied());
                    }
                }
                Err(error) => leptos::logging::warn!("attention map: {error}"),
            }
        },
    );
    view! { <canvas node_ref=canvas /> }
}

/// A text sample of the newest run, grown a few tokens per frame (text data only).
#[component]
pub fn Sample() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let sample = move || {
        state.progress.track();
        state
            .lab
            .with_value(|lab| lab.runs.last().map(|r| r.sample.clone()))
    };
    view! {
        <section class="sample" aria-label=move || words().sample_heading>
            <h2>{move || words().sample_heading}</h2>
            <p class="hint">
                {move || {
                    let every = lab::SAMPLE_EVERY.to_string();
                    let temperature = lab::SAMPLE_TEMPERATURE.to_string();
                    fill(words().sample_hint, &[("every", &every), ("temperature", &temperature)])
                }}
            </p>
            // The model's own text is in no language of the page; the note until it comes is.
            <pre data-testid="sample"
                translate=move || if sample().is_some_and(|s| !s.is_empty()) { "no" } else { "yes" }>
                {move || sample().filter(|s| !s.is_empty()).unwrap_or_else(|| {
                    words().sample_empty.into()
                })}
            </pre>
        </section>
    }
}
