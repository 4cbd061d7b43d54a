//! The page (Leptos, client-side rendered). Components stay thin: what the page *does* lives in
//! `crate::lab` (controls table, runs, URL, chart data), the GPU work in `crate::gpu`, and the
//! page only renders the plain data they return.

mod controls;
mod lab_state;
mod views;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::prelude::*;

use crate::gpu::check::{run_page_checks, KernelCheck};
use crate::gpu::{AdapterSummary, GpuContext};

/// Where the visitor's WebGPU stands.
#[derive(Clone, Debug, PartialEq)]
enum GpuStatus {
    /// Looking for `navigator.gpu` and an adapter.
    Detecting,
    /// No WebGPU here: what to do, in plain words, and the technical detail if there is one.
    Unavailable {
        advice: &'static str,
        detail: Option<String>,
    },
    /// An adapter and a device.
    Ready(AdapterSummary),
}

/// The kernel check's progress.
#[derive(Clone, Debug, PartialEq)]
enum CheckStatus {
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
    leptos::mount::mount_to_body(App);
}

/// Whether the browser exposes `navigator.gpu` at all. Checked before touching wgpu, so that a
/// browser without WebGPU gets a plain message rather than an error from deep inside.
fn browser_has_webgpu() -> bool {
    web_sys::window()
        .and_then(|window| js_sys::Reflect::get(&window.navigator(), &"gpu".into()).ok())
        .is_some_and(|gpu| !gpu.is_undefined() && !gpu.is_null())
}

const NO_WEBGPU: &str = "This browser does not offer WebGPU, which archlab uses to train on your \
GPU. Open the page in a recent Chrome or Edge (version 113 or later), Safari 26, or Firefox 141 \
or later on Windows. On Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu and \
chrome://flags/#enable-vulkan switched on.";

const NO_ADAPTER: &str = "This browser knows WebGPU but gave no GPU adapter: the GPU or its \
driver may be blocked, or hardware acceleration is off. Check chrome://gpu (or about:support) and \
enable hardware acceleration; on Linux, Chrome needs chrome://flags/#enable-unsafe-webgpu and \
chrome://flags/#enable-vulkan switched on. Or try another browser.";

#[component]
fn App() -> impl IntoView {
    let (gpu, set_gpu) = signal(GpuStatus::Detecting);
    let (checks, set_checks) = signal(CheckStatus::Waiting);

    // The GPU lives outside the reactive graph: this task owns the context and hands the page
    // only plain results.
    spawn_local(async move {
        let context = if browser_has_webgpu() {
            GpuContext::new()
                .await
                .map_err(|error| GpuStatus::Unavailable {
                    advice: NO_ADAPTER,
                    detail: Some(error.to_string()),
                })
        } else {
            Err(GpuStatus::Unavailable {
                advice: NO_WEBGPU,
                detail: None,
            })
        };
        let ctx = match context {
            Ok(ctx) => std::rc::Rc::new(ctx),
            Err(status) => {
                set_gpu.set(status);
                set_checks.set(CheckStatus::Skipped);
                return;
            }
        };
        set_gpu.set(GpuStatus::Ready(ctx.adapter.clone()));
        set_checks.set(
            match run_page_checks(&ctx, js_sys::Date::now() as u64).await {
                Ok(results) => CheckStatus::Done(results),
                Err(error) => CheckStatus::Failed(error.to_string()),
            },
        );
    });

    let state = lab_state::LabState::new();
    provide_context(state);
    state.play();
    let device = move || match gpu.get() {
        GpuStatus::Detecting => "looking for a WebGPU adapter…".to_string(),
        GpuStatus::Unavailable { .. } => "no WebGPU adapter in this browser".to_string(),
        GpuStatus::Ready(adapter) => {
            let name = if adapter.name.is_empty() {
                "name not disclosed by the browser"
            } else {
                &adapter.name
            };
            let software = if adapter.is_software {
                ", software"
            } else {
                ""
            };
            format!(
                "WebGPU adapter: {name} ({}{software}), for the coming GPU engine",
                adapter.backend
            )
        }
    };

    view! {
        <header>
            <h1>"archlab"</h1>
            <p class="tagline">
                "Train a small transformer live while you flip the architecture choices of                 Stanford CS336 lecture 3: norms, activations, positions, attention, and more."
            </p>
        </header>
        <div class="layout">
            <controls::ControlsPanel />
            <main>
                <views::Toolbar device=Signal::derive(device) />
                <views::Problems />
                <p class="note" data-testid="engine-note">
                    "Training runs on the CPU engine, in WebAssembly on this page's thread, so the                     default model is small (d_model 32, 2 layers, context 32, batch 8): one step                     takes a few milliseconds and the page stays responsive. The WebGPU engine is                     coming; it will need a browser with WebGPU (see the WebGPU panel below)."
                </p>
                <views::RunsList />
                <views::Charts />
                <views::AttentionGrid />
                <views::Sample />
                <div class="panels">
                    <GpuPanel gpu=gpu />
                    <CheckPanel checks=checks />
                </div>
            </main>
        </div>
    }
}

#[component]
fn GpuPanel(gpu: ReadSignal<GpuStatus>) -> impl IntoView {
    view! {
        <section class="panel" data-testid="gpu-panel">
            <h2>"WebGPU"</h2>
            {move || match gpu.get() {
                GpuStatus::Detecting => view! { <p>"Looking for a GPU…"</p> }.into_any(),
                GpuStatus::Unavailable { advice, detail } => {
                    view! {
                        <p class="warning" data-testid="no-webgpu">
                            {advice}
                        </p>
                        {detail
                            .map(|detail| {
                                view! {
                                    <details>
                                        <summary>"Technical detail"</summary>
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
                                .map(|(label, value)| view! { <tr><th>{label}</th><td>{value}</td></tr> })
                                .collect_view()}
                        </table>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}

#[component]
fn CheckPanel(checks: ReadSignal<CheckStatus>) -> impl IntoView {
    let status = move || match checks.get() {
        CheckStatus::Waiting => "waiting",
        CheckStatus::Skipped => "skipped",
        CheckStatus::Done(results) if results.iter().all(KernelCheck::passed) => "passed",
        CheckStatus::Done(_) | CheckStatus::Failed(_) => "failed",
    };
    view! {
        <section class="panel" data-testid="kernel-check" data-status=status>
            <h2>"Kernel check"</h2>
            <p>
                "The matmul kernel on random inputs, against the same product computed in Rust on \
                the CPU; then a few training steps of two small models on this GPU (every kernel \
                family) against the CPU engine. An error within its bound (ratio ≤ 1) passes."
            </p>
            {move || match checks.get() {
                CheckStatus::Waiting => view! { <p>"Waiting for the GPU…"</p> }.into_any(),
                CheckStatus::Skipped => {
                    view! { <p>"Not run: there is no WebGPU device to run it on."</p> }.into_any()
                }
                CheckStatus::Failed(error) => {
                    view! { <p class="warning">"The check could not run: " {error}</p> }.into_any()
                }
                CheckStatus::Done(results) => {
                    view! {
                        <table>
                            <tr>
                                <th>"kernel"</th>
                                <th>"max |GPU − CPU|"</th>
                                <th>"error / bound"</th>
                                <th>"result"</th>
                            </tr>
                            {results
                                .into_iter()
                                .map(|check| {
                                    let verdict = if check.passed() { "pass" } else { "FAIL" };
                                    view! {
                                        <tr class=verdict>
                                            <td>{check.label.clone()}</td>
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
