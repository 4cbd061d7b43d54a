//! The page (Leptos, client-side rendered). Components stay thin: what the page *does* lives in
//! `crate::lab` (controls table, runs, URL, chart data), the GPU work in `crate::gpu`, and the
//! page only renders the plain data they return.

mod across_runs;
mod builtin_text;
mod calc;
mod chart_canvas;
mod checkpoints;
mod controls;
mod engine_choice;
mod generate;
mod lab_state;
mod language;
mod measured_canvas;
mod model_views;
mod presenter;
mod results;
mod rules;
mod saved;
mod session;
mod stages;
mod start_marks;
mod storage;
mod sweep;
mod text;
mod tour;
mod tour_diagrams;
mod views;

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use crate::gpu::{AdapterSummary, GpuContext};
use crate::lab::kernel_check::{run_page_checks, KernelCheck};
use crate::lab::names_text;
use crate::lab::page_text::PageText;
use crate::lab::tour_text::fill;
use language::Language;
use stages::Stage;

/// Where the visitor's WebGPU stands.
#[derive(Clone, Debug, PartialEq)]
enum GpuStatus {
    /// Looking for `navigator.gpu` and an adapter.
    Detecting,
    /// No WebGPU here: what to do, in plain words, and the technical detail if there is one.
    Unavailable {
        advice: Advice,
        detail: Option<String>,
    },
    /// An adapter and a device.
    Ready(AdapterSummary),
}

/// Why there is no WebGPU, for the advice in the page's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Advice {
    NoWebgpu,
    NoAdapter,
    DeviceLost,
}

impl Advice {
    fn text(self, words: &'static PageText) -> &'static str {
        match self {
            Advice::NoWebgpu => words.no_webgpu,
            Advice::NoAdapter => words.no_adapter,
            Advice::DeviceLost => words.device_lost,
        }
    }
}

/// The kernel check's progress.
#[derive(Clone, Debug, PartialEq)]
enum CheckStatus {
    /// Not started: it runs when the visitor asks.
    Ready,
    Waiting,
    /// Not run: there is no GPU to run it on.
    Skipped,
    Done(Vec<KernelCheck>),
    Failed(String),
}

/// The wasm module's entry point: mounts the page.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
    start_marks::timed("mount", || leptos::mount::mount_to_body(App));
}

/// Whether the browser exposes `navigator.gpu` at all. Checked before touching wgpu, so that a
/// browser without WebGPU gets a plain message rather than an error from deep inside.
fn browser_has_webgpu() -> bool {
    web_sys::window()
        .and_then(|window| js_sys::Reflect::get(&window.navigator(), &"gpu".into()).ok())
        .is_some_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
}

#[component]
fn App() -> impl IntoView {
    let language = Language::from_page();
    provide_context(language);
    let (gpu, set_gpu) = signal(GpuStatus::Detecting);
    // The lab, opened before the status leaves Detecting (once), and taken by the view then.
    let opened = StoredValue::new_local(None::<saved::OpenedLab>);

    // The start, in tasks of its own: the header first (this task), then the adapter and
    // device (WebGPU's `requestAdapter` holds the page's thread for about 125 ms on
    // SwiftShader), the lab's data (tokenizing the corpus), its first run (the engine), and
    // the lab's first render (in stages: `stages`), so that no task holds two of them.
    spawn_local(async move {
        let builtin_text = builtin_text::load();
        lab_state::next_task().await;
        start_marks::begin("webgpu");
        let found = if browser_has_webgpu() {
            GpuContext::new()
                .await
                .map_err(|error| GpuStatus::Unavailable {
                    advice: Advice::NoAdapter,
                    detail: Some(error.to_string()),
                })
        } else {
            Err(GpuStatus::Unavailable {
                advice: Advice::NoWebgpu,
                detail: None,
            })
        };
        start_marks::end("webgpu");
        start_marks::begin("storage");
        let loaded = storage::load().await;
        start_marks::end("storage");
        let (device, status) = match found {
            Ok(ctx) => {
                let summary = ctx.adapter.clone();
                (Some(Rc::new(ctx)), GpuStatus::Ready(summary))
            }
            Err(status) => (None, status),
        };
        start_marks::begin("builtin-text");
        builtin_text.await;
        start_marks::end("builtin-text");
        lab_state::next_task().await;
        let mut lab = start_marks::timed("open-lab", || lab_state::open(device, loaded));
        lab_state::next_task().await;
        start_marks::timed("first-run", || lab.start_first_run());
        opened.set_value(Some(lab));
        lab_state::next_task().await;
        set_gpu.set(status);
    });

    view! {
        // First in the page's order: a keyboard reaches Play in one Tab (the controls come
        // first in the layout).
        <a class="skip-link" href="#run-controls" data-testid="skip-link">
            {move || language.page().skip_link}
        </a>
        <header>
            <h1>"archlab"</h1>
            <language::LanguageSwitch />
            <p class="tagline">{move || language.page().tagline}</p>
        </header>
        {move || match gpu.get() {
            GpuStatus::Detecting => {
                view! { <p class="note" data-testid="detecting">{move || language.page().detecting}</p> }
                    .into_any()
            }
            status => match opened.try_update_value(Option::take).flatten() {
                Some(opened) => start_marks::timed("lab-view", || {
                    view! { <Lab status=status opened=opened /> }.into_any()
                }),
                // Not reached: the lab is opened before the status changes, and it changes once.
                None => ().into_any(),
            },
        }}
    }
}

/// The lab once the engine is known: controls, views, and the WebGPU panels. After a lost
/// device the engine note, the device readout and the panels follow the device the lab trains
/// on now (a new one, or none: the CPU engine).
#[component]
fn Lab(status: GpuStatus, opened: saved::OpenedLab) -> impl IntoView {
    let state = lab_state::LabState::new(opened);
    provide_context(state);
    let language = expect_context::<Language>();
    // The lab writes the language into the URL and its refusals in it.
    Effect::new(move |_| state.set_language(language.chosen.get(), language.browser));
    let words = move || language.page();
    provide_context(tour::Tour::new());
    chart_canvas::Refits::provide();
    let stages = stages::Stages::new();
    provide_context(stages);
    spawn_local(async move {
        stages.show_all().await;
        // Runs brought back by a reload wait for play (the notice says where the newest stands).
        if state.keeper.restored() {
            state.pause();
        } else {
            state.play();
        }
    });
    // Bumped when a lost device is replaced: everything below that names the device follows it.
    let generation = Memo::new(move |_| {
        state.version.track();
        state.lab.with_value(crate::lab::Lab::engine_generation)
    });
    let device_now = move || {
        // Read, not only tracked: a memo that is never read never computes, so never updates.
        let _ = generation.get();
        state.lab.with_value(|lab| lab.device().cloned())
    };
    let on_gpu = move || {
        let _ = generation.get();
        state.lab.with_value(crate::lab::Lab::on_gpu)
    };
    let found = StoredValue::new(status);
    let status_now = move || match device_now() {
        Some(ctx) => GpuStatus::Ready(ctx.adapter.clone()),
        None if matches!(found.get_value(), GpuStatus::Ready(_)) => GpuStatus::Unavailable {
            advice: Advice::DeviceLost,
            detail: None,
        },
        None => found.get_value(),
    };
    let device = Signal::derive(move || match status_now() {
        GpuStatus::Ready(adapter) => {
            let software = if adapter.is_software {
                words().software
            } else {
                ""
            };
            fill(words().backend, &[("backend", &adapter.backend)]) + software
        }
        GpuStatus::Unavailable {
            advice: Advice::DeviceLost,
            ..
        } => words().device_lost_short.to_string(),
        GpuStatus::Detecting | GpuStatus::Unavailable { .. } => {
            words().no_adapter_short.to_string()
        }
    });
    let note = move || {
        if on_gpu() {
            words().note_gpu
        } else {
            words().note_cpu
        }
    };
    view! {
        <div class="layout">
            <controls::ControlsPanel />
            <main>
                <views::Toolbar device=device />
                <views::Problems />
                // At 1280x720 the loss and the attention maps side by side fill the first
                // screen; everything else is below, the notes first.
                <div class="first-screen">
                    <Stage at=1><views::LossChart /></Stage>
                    <Stage at=4><views::AttentionGrid /></Stage>
                </div>
                <Stage at=3>
                    <saved::SavedRunsBar />
                    <p class="note" data-testid="engine-note">{note}</p>
                    <tour::TourPanel />
                </Stage>
                <Stage at=4>
                    <results::ExperimentPanel />
                    <views::RunsList />
                </Stage>
                <Stage at=5><views::Charts /></Stage>
                <Stage at=6>
                    <across_runs::ClaimCharts />
                    <across_runs::CompareMaps />
                </Stage>
                <Stage at=7>
                    <model_views::ModelViews />
                    <views::Sample />
                    <generate::GeneratePanel />
                    <text::TextPanel />
                </Stage>
                <Stage at=8>
                    <checkpoints::CheckpointPanel />
                    <session::SessionPanel />
                    <calc::CalcPanel />
                    <div class="panels">
                        {move || {
                            view! {
                                <GpuPanel status=status_now() />
                                <CheckPanel gpu=device_now() />
                            }
                        }}
                    </div>
                </Stage>
            </main>
        </div>
        <presenter::Presenter />
    }
}

#[component]
fn GpuPanel(status: GpuStatus) -> impl IntoView {
    let language = expect_context::<Language>();
    let words = move || language.page();
    view! {
        <section class="panel" data-testid="gpu-panel">
            <h2>"WebGPU"</h2>
            {match status {
                GpuStatus::Detecting => view! { <p>{move || words().looking_for_gpu}</p> }.into_any(),
                GpuStatus::Unavailable { advice, detail } => {
                    view! {
                        <p class="warning" data-testid="no-webgpu">
                            {move || advice.text(words())}
                        </p>
                        {detail
                            .map(|detail| {
                                view! {
                                    <details>
                                        <summary>{move || words().technical_detail}</summary>
                                        <code>{detail}</code>
                                    </details>
                                }
                            })}
                    }
                        .into_any()
                }
                GpuStatus::Ready(adapter) => {
                    view! {
                        <table data-testid="adapter">
                            {adapter
                                .rows()
                                .into_iter()
                                .map(|(label, value)| {
                                    // Labels, yes and no in the page's language; an adapter's
                                    // own name, backend and driver as it gives them.
                                    let named = move |text: &str| {
                                        names_text::whole_name(language.get(), text)
                                            .unwrap_or_else(|| text.to_string())
                                    };
                                    view! {
                                        <tr>
                                            <th>{move || named(label)}</th>
                                            <td>{move || named(&value)}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </table>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

/// The kernel check, run when the visitor asks: it pauses training meanwhile, since its CPU
/// reference computations take the page's thread.
#[component]
fn CheckPanel(gpu: Option<Rc<GpuContext>>) -> impl IntoView {
    let state = expect_context::<lab_state::LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let initial = if gpu.is_some() {
        CheckStatus::Ready
    } else {
        CheckStatus::Skipped
    };
    let (checks, set_checks) = signal(initial);
    let gpu = StoredValue::new_local(gpu);
    let run_check = move |_| {
        let Some(ctx) = gpu.get_value() else {
            return;
        };
        let resume = state.playing.get_untracked();
        state.pause();
        set_checks.set(CheckStatus::Waiting);
        spawn_local(async move {
            set_checks.set(
                match run_page_checks(&ctx, js_sys::Date::now() as u64).await {
                    Ok(results) => CheckStatus::Done(results),
                    Err(error) => CheckStatus::Failed(error.to_string()),
                },
            );
            if resume {
                state.play();
            }
        });
    };
    let status = move || match checks.get() {
        CheckStatus::Ready => "ready",
        CheckStatus::Waiting => "waiting",
        CheckStatus::Skipped => "skipped",
        CheckStatus::Done(results) if results.iter().all(KernelCheck::passed) => "passed",
        CheckStatus::Done(_) | CheckStatus::Failed(_) => "failed",
    };
    view! {
        <section class="panel" data-testid="kernel-check" data-status=status>
            <h2>{move || words().check_heading}</h2>
            <p>{move || words().check_intro}</p>
            {move || match checks.get() {
                CheckStatus::Ready => {
                    view! {
                        <button data-testid="run-kernel-check" on:click=run_check>
                            {words().check_run}
                        </button>
                        <p>{words().check_pauses}</p>
                    }
                        .into_any()
                }
                CheckStatus::Waiting => view! { <p>{words().checking}</p> }.into_any(),
                CheckStatus::Skipped => {
                    view! { <p>{words().check_skipped}</p> }.into_any()
                }
                CheckStatus::Failed(error) => {
                    let error = crate::lab::i18n::translate(language.get(), &error);
                    view! { <p class="warning">{words().check_failed} {error}</p> }.into_any()
                }
                CheckStatus::Done(results) => {
                    view! {
                        <table>
                            <tr>
                                <th>{words().check_columns[0]}</th>
                                <th>"max |GPU − CPU|"</th>
                                <th>{words().check_columns[1]}</th>
                                <th>{words().check_columns[2]}</th>
                            </tr>
                            {results
                                .into_iter()
                                .map(|check| {
                                    let (class, verdict) = if check.passed() {
                                        ("pass", words().check_pass)
                                    } else {
                                        ("FAIL", words().check_fail)
                                    };
                                    view! {
                                        <tr class=class>
                                            <td>{names_text::name(language.get(), &check.label)}</td>
                                            <td>{format!("{:.2e}", check.max_abs_error)}</td>
                                            <td>{format!("{:.3}", check.worst_error_to_bound)}</td>
                                            <td>{verdict}</td>
                                        </tr>
                                    }
                                })
                                .collect_view()}
                        </table>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}
