//! The page's one piece of state: a [`Lab`] kept outside the reactive graph (it holds the
//! engines), with signals that say when its parts changed, and the training loops: on the CPU
//! engine a chain of short tasks that each step a few milliseconds; on the WebGPU engine an
//! async loop that keeps a few steps in flight and awaits their reports, so that the page's
//! thread only records and draws.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::{JsCast, JsValue};

use super::saved::{self, Keeper};
use crate::checkpoint::Checkpoint;
use crate::gpu::GpuContext;
use crate::lab::engine_choice::EngineChoice;
use crate::lab::i18n::Lang;
use crate::lab::{checkpoints, url, views, Lab, Read};
use crate::train::run::RunError;
use crate::train::sweep::parse_lrs;

/// Training time per task of the loop: at least one step, then more while they fit, so that a
/// task stays far below 100 ms.
const TASK_BUDGET_SECONDS: f64 = 0.012;
/// Charts and the test snapshot are redrawn at most this often.
const DRAW_EVERY_MS: f64 = 250.0;
/// The attention maps (one extra forward) are recomputed at most this often.
const ATTENTION_EVERY_MS: f64 = 1000.0;

/// The WebGPU loop gives the browser a task of its own at least this often. A report that has
/// already arrived, or failed (a lost device's mappings can fail before its loss is told),
/// resolves as a microtask, and a loop of microtasks never lets the browser deliver an event:
/// not the device's loss that would end it, not a click. An experiment whose lanes had all
/// failed so spun forever with the page frozen.
const YIELD_EVERY_MS: f64 = 100.0;

/// Handles to the state, shared through context (every field is `Copy`).
#[derive(Clone, Copy)]
pub struct LabState {
    pub lab: StoredValue<Lab, LocalStorage>,
    /// Bumped when the configuration or the list of runs changes.
    pub version: RwSignal<u64>,
    /// Bumped after every frame that trained.
    pub progress: RwSignal<u64>,
    /// Bumped when the charts should be redrawn.
    pub charts: RwSignal<u64>,
    /// Bumped when the attention maps were recomputed.
    pub attention: RwSignal<u64>,
    pub playing: RwSignal<bool>,
    pub log_y: RwSignal<bool>,
    /// (layer, head) of the enlarged attention map.
    pub enlarged: RwSignal<(usize, usize)>,
    /// Whether a loop is running (so play never starts a second one).
    looping: StoredValue<bool>,
    /// Whether an attention or sample read of the GPU is on its way (one of each at a time).
    reading_attention: StoredValue<bool>,
    reading_sample: StoredValue<bool>,
    /// Whether a checkpoint of the newest run is being read (one at a time: the save button and
    /// keeping the runs both pause and drain the GPU run).
    reading_checkpoint: StoredValue<bool>,
    last_draw: StoredValue<f64>,
    last_attention: StoredValue<f64>,
    /// When the CPU loop's last drawing task began, until the next task measures it.
    drawing_since: StoredValue<Option<f64>>,
    /// The CPU loop draws again only from this time on: after training at least as long as
    /// its last drawing took, so that however slow drawing is, training keeps half the time.
    draw_not_before: StoredValue<f64>,
    /// `performance.now()` when the first step finished, for the tests' benchmark.
    first_step_ms: StoredValue<Option<f64>>,
    /// Keeping the runs across reloads (`super::saved`).
    pub keeper: Keeper,
}

/// The lab opened with the settings of the page's URL and the runs the browser kept
/// (`saved::open_lab`), training on `gpu` when there is one: the data and the first run's
/// engine, the slow part of opening, done before the page shows the lab.
pub fn open(gpu: Option<Rc<GpuContext>>, loaded: saved::Loaded) -> saved::OpenedLab {
    let query = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    saved::open_lab(gpu, &url::decode(&query), loaded)
}

/// Resolves in a later task of the browser's event loop (a zero timeout).
pub(super) async fn next_task() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback(&resolve);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

pub(super) fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

fn now_seconds() -> f64 {
    now_ms() / 1000.0
}

impl LabState {
    /// The page's state around the lab `opened` (see [`open`]), watching its device.
    pub fn new(opened: saved::OpenedLab) -> Self {
        let keeper = Keeper::new(&opened);
        let watched = opened.lab.device().cloned();
        let state = Self {
            lab: StoredValue::new_local(opened.lab),
            version: RwSignal::new(0),
            progress: RwSignal::new(0),
            charts: RwSignal::new(0),
            attention: RwSignal::new(0),
            playing: RwSignal::new(false),
            log_y: RwSignal::new(true),
            enlarged: RwSignal::new((0, 0)),
            looping: StoredValue::new(false),
            reading_attention: StoredValue::new(false),
            reading_sample: StoredValue::new(false),
            reading_checkpoint: StoredValue::new(false),
            last_draw: StoredValue::new(f64::MIN),
            last_attention: StoredValue::new(f64::MIN),
            drawing_since: StoredValue::new(None),
            draw_not_before: StoredValue::new(f64::MIN),
            first_step_ms: StoredValue::new(None),
            keeper,
        };
        if let Some(gpu) = &watched {
            state.watch_device(gpu);
        }
        // A shared session's link has done its work: a reload opens what the page kept since.
        if opened.from_link {
            state.write_url();
        }
        state
    }

    /// When `gpu`'s device is lost, asks for a new one (else the CPU engine) and resumes the
    /// newest run on it from its last resume point (`lab::resume`), with a notice.
    fn watch_device(&self, gpu: &GpuContext) {
        let Some(lost) = gpu.take_lost() else {
            return;
        };
        let state = *self;
        spawn_local(async move {
            // A context dropped without a loss cancels the channel: nothing to do.
            if let Ok(reason) = lost.await {
                state.device_lost(&reason).await;
            }
        });
    }

    async fn device_lost(&self, reason: &str) {
        let gpu = GpuContext::new().await.ok().map(Rc::new);
        if let Some(gpu) = &gpu {
            self.watch_device(gpu);
        }
        let was_on_gpu = self.lab.with_value(Lab::on_gpu);
        self.lab
            .update_value(|lab| lab.resume_after_device_loss(gpu, reason));
        if !was_on_gpu {
            // On the CPU engine by choice: nothing trained on the lost device.
            self.changed();
            return;
        }
        self.loop_ended().await;
        // A loss is not a pause: training goes on.
        self.playing.set(true);
        self.changed();
    }

    /// The visitor chose an engine: the newest run continues on it (see `Lab::choose_engine`)
    /// once the loop of the engine before has ended.
    pub fn choose_engine(&self, choice: EngineChoice) {
        let switched = self.lab.try_update_value(|lab| lab.choose_engine(choice)) == Some(true);
        // The loop before may pause the page as it ends (its engine has no run left).
        let playing = self.playing.get_untracked();
        let state = *self;
        spawn_local(async move {
            if switched {
                state.loop_ended().await;
                state.playing.set(playing);
            }
            state.changed();
        });
    }

    /// Resolves once the training loop has ended: after the engines were replaced, the loop of
    /// the engine before ends at its next turn (its generation, or its engine kind, is gone).
    pub(super) async fn loop_ended(&self) {
        while self.looping.get_value() {
            next_task().await;
        }
    }

    /// A control changed `key` to `value` (already in `RunConfig::set`'s form).
    pub fn change(&self, key: &str, value: &str) {
        self.lab.update_value(|lab| {
            lab.change(key, value);
        });
        self.changed();
    }

    pub fn preset(&self, name: &str) {
        self.lab.update_value(|lab| {
            lab.preset(name);
        });
        self.changed();
    }

    /// Starts a lecture experiment's variants in lockstep (see `Lab::start_experiment`) and
    /// plays.
    pub fn start_experiment(&self, name: &str) {
        self.start_lanes(|lab| lab.start_experiment(name));
    }

    /// Starts the learning-rate sweep at the learning rates listed in `lrs` ("1e-3, 0.01") in
    /// lockstep (see `Lab::start_sweep`) and plays; a list refused names why.
    pub fn start_sweep(&self, lrs: &str) {
        self.start_lanes(|lab| lab.start_sweep(&parse_lrs(lrs)?));
    }

    /// Starts an experiment's lanes by `start` and plays; a refusal is the lab's problem,
    /// shown with the others, and nothing starts.
    fn start_lanes(&self, start: impl FnOnce(&mut Lab) -> Result<(), RunError>) {
        let started = self.lab.try_update_value(|lab| {
            let started = start(lab);
            lab.experiment_started(started)
        });
        self.changed();
        if started == Some(true) {
            self.play();
        }
    }

    /// Trains variant `index` of experiment `name` as the page's run (`Lab::show_variant`);
    /// its label, or None with the reason in the lab's problem.
    pub fn show_variant(&self, name: &str, index: usize) -> Option<&'static str> {
        let shown = self
            .lab
            .try_update_value(|lab| match lab.show_variant(name, index) {
                Ok(label) => Some(label),
                Err(error) => {
                    lab.problem = Some(error);
                    None
                }
            })
            .flatten();
        self.changed();
        shown
    }

    /// Stops every lane of the experiment (see `Lab::stop_experiment`).
    pub fn stop_experiment(&self) {
        self.lab.update_value(Lab::stop_experiment);
        self.changed();
    }

    pub fn reset(&self) {
        self.lab.update_value(Lab::reset);
        self.changed();
    }

    pub fn remove(&self, id: usize) {
        self.lab.update_value(|lab| lab.remove(id));
        self.changed();
    }

    /// Marks run `id` to compare, or unmarks it (`Lab::toggle_marked`).
    pub fn toggle_marked(&self, id: usize) {
        self.lab.update_value(|lab| lab.toggle_marked(id));
        self.changed();
    }

    /// Starts the marked runs in lockstep (see `Lab::start_compare`) and plays.
    pub fn start_compare(&self) {
        self.start_lanes(Lab::start_compare);
    }

    pub fn toggle_hidden(&self, id: usize) {
        self.lab.update_value(|lab| lab.toggle_hidden(id));
        self.changed();
    }

    /// One training step, drawn once it is recorded.
    pub fn single_step(&self) {
        self.pause();
        if self.lab.with_value(Lab::on_gpu) {
            if self.looping.get_value() {
                return;
            }
            self.looping.set_value(true);
            let state = *self;
            spawn_local(async move {
                state.gpu_turn(1).await;
                // Collect the step's report (it was awaited above) and record it.
                state.gpu_turn(0).await;
                state.looping.set_value(false);
                state.draw_all();
            });
        } else {
            self.train(0.0);
            self.draw_all();
        }
    }

    pub fn play(&self) {
        self.playing.set(true);
        if self.looping.get_value() {
            return;
        }
        self.looping.set_value(true);
        let state = *self;
        if self.lab.with_value(Lab::on_gpu) {
            spawn_local(async move { state.gpu_loop().await });
        } else {
            // A zero timeout rather than requestAnimationFrame: animation frames stall while
            // the GPU process is busy (a software WebGPU adapter, the kernel check), and the
            // browser still paints between tasks.
            set_timeout(move || state.tick(), std::time::Duration::ZERO);
        }
    }

    pub fn pause(&self) {
        self.playing.set(false);
        self.publish_snapshot();
        self.keep_if_due();
    }

    /// The page's language changed (or is first known): the lab writes it into the URL and
    /// its refusals in it. The charts follow the language themselves; nothing is read or
    /// saved here (a restored WebGPU run must wait for play untouched).
    pub fn set_language(&self, chosen: Option<Lang>, browser: Lang) {
        self.lab
            .update_value(|lab| lab.set_language(chosen, browser));
        self.write_url();
        self.version.update(|v| *v += 1);
        self.publish_snapshot();
    }

    /// After any change of configuration or runs: the URL, the views, and the loop (a new run
    /// trains if the page is playing).
    pub(super) fn changed(&self) {
        self.write_url();
        self.version.update(|v| *v += 1);
        self.draw_all();
        if self.playing.get_untracked() {
            self.play();
        }
    }

    /// The WebGPU loop: turns while playing and the experiment or else the newest run has
    /// steps left or results on their way; then the views are drawn once more. An experiment
    /// that ends pauses the page (the visitor's run waits for play).
    async fn gpu_loop(&self) {
        // The page draws before the first step creates the pipelines: a page's first 2D canvas
        // waits on the GPU process, which compiling them keeps busy (on SwiftShader that wait
        // was one main-thread task of 0.8-5 s before the first step).
        next_task().await;
        let generation = self.lab.with_value(Lab::engine_generation);
        let mut in_experiment = false;
        let going = |in_experiment: &mut bool| {
            let experiment = self.lab.with_value(|lab| lab.gpu_experiment().is_some());
            *in_experiment |= experiment;
            self.lab.with_value(Lab::gpu_active) && (experiment || !*in_experiment)
        };
        let mut yielded = now_ms();
        while self.playing.get_untracked() && going(&mut in_experiment) {
            self.gpu_turn(usize::MAX).await;
            if now_ms() - yielded >= YIELD_EVERY_MS {
                next_task().await;
                yielded = now_ms();
            }
            if self.lab.with_value(Lab::engine_generation) != generation {
                // The device was lost: `device_lost` starts the loop for the new engine.
                self.looping.set_value(false);
                return;
            }
        }
        self.looping.set_value(false);
        if !going(&mut in_experiment) {
            self.playing.set(false);
        }
        self.draw_all();
    }

    /// One turn of the WebGPU loop: record what arrived and submit up to `limit` steps (their
    /// validation reads go on by themselves), start the views' reads when due, then await the
    /// next report, which yields the page's thread to the browser.
    async fn gpu_turn(&self, limit: usize) {
        let reads = super::start_marks::timed("gpu-pump", || {
            self.lab
                .try_update_value(|lab| lab.gpu_pump(&now_seconds, limit))
                .unwrap_or_default()
        });
        for read in reads {
            self.await_read(read, None);
        }
        self.note_first_step();
        self.progress.update(|p| *p += 1);
        let now = now_ms();
        if now - self.last_attention.get_value() >= ATTENTION_EVERY_MS {
            self.refresh_attention(now);
        }
        if now - self.last_draw.get_value() >= DRAW_EVERY_MS {
            self.draw_charts(now);
        }
        if !self.reading_sample.get_value() {
            if let Some(read) = self.lab.try_update_value(Lab::extend_sample).flatten() {
                self.await_read(read, Some(self.reading_sample));
            }
        }
        match self.lab.with_value(Lab::gpu_next_report) {
            // A failed wait shows up at the next pump, which stops the run with its error.
            Some(arrival) => {
                let _ = arrival.await;
            }
            // Nothing in flight: reads of other tasks (a validation) are what the run waits for.
            None => next_task().await,
        }
    }

    /// Smoothing of the training loss curves (see `views::smooth`).
    pub fn set_smoothing(&self, smoothing: f64) {
        self.lab.update_value(|lab| lab.smoothing = smoothing);
        self.charts.update(|c| *c += 1);
    }

    /// Shows the newest run's attention snapshot `index`, or the latest maps (None).
    pub fn scrub(&self, index: Option<usize>) {
        self.lab.update_value(|lab| lab.scrub(index));
        self.attention.update(|a| *a += 1);
        self.publish_snapshot();
    }

    /// Shows the attention maps and norms on the visitor's example (see `Lab::look_at`).
    pub fn look_at(&self, input: &str) -> Result<(), String> {
        let looked = self
            .lab
            .try_update_value(|lab| lab.look_at(input))
            .unwrap_or(Ok(()));
        if looked.is_ok() {
            self.refresh_attention(now_ms());
        }
        looked
    }

    /// Trains on the visitor's text or a text file's bytes (see `Lab::train_on_text`: refused
    /// text leaves its reason in the problems, and the previous text and run stay); returns
    /// whether a run started.
    pub fn train_on_text(&self, bytes: &[u8]) -> bool {
        let started = self.lab.try_update_value(|lab| lab.train_on_text(bytes)) == Some(true);
        self.changed();
        if started {
            self.play();
        }
        started
    }

    /// Opens uploaded files as a run (see `Lab::open_checkpoint`) and plays it; returns its
    /// name.
    pub fn open_checkpoint(&self, files: &[(String, Vec<u8>)]) -> Result<String, String> {
        let opened = self
            .lab
            .try_update_value(|lab| lab.open_checkpoint(files).map_err(|e| e.to_string()))
            .unwrap_or_else(|| Err("the page's state is gone".into()));
        self.changed();
        if opened.is_ok() {
            self.play();
        }
        opened
    }

    /// The newest run as one checkpoint file: (name, bytes).
    pub async fn checkpoint_of_newest(&self) -> Result<(String, Vec<u8>), String> {
        let (name, checkpoint) = self.newest_checkpoint().await?;
        let (_, bytes) = checkpoint.to_bytes().map_err(|e| e.to_string())?;
        Ok((name, bytes))
    }

    /// The newest run's checkpoint, with its file name, once any other read of one is done.
    pub async fn newest_checkpoint(&self) -> Result<(String, Checkpoint), String> {
        while self.reading_checkpoint.get_value() {
            next_task().await;
        }
        self.reading_checkpoint.set_value(true);
        let checkpoint = self.read_newest_checkpoint().await;
        self.reading_checkpoint.set_value(false);
        checkpoint
    }

    /// The newest run's checkpoint: a GPU run is paused and its steps in flight are recorded
    /// first, so that the parameters are those of its last step.
    async fn read_newest_checkpoint(&self) -> Result<(String, Checkpoint), String> {
        let resume = self.playing.get_untracked();
        self.pause();
        let (name, source) = loop {
            let ready = self.lab.with_value(|lab| {
                let run = lab.runs.last()?;
                Some((checkpoints::file_name(run), run.checkpoint()))
            });
            match ready {
                None => return Err("There is no run to save.".into()),
                Some((name, Some(source))) => break (name, source),
                Some((_, None)) => self.gpu_turn(0).await,
            }
        };
        let checkpoint = source.wait().await.map_err(|e| e.to_string());
        if resume {
            self.play();
        }
        checkpoint.map(|checkpoint| (name, checkpoint))
    }

    /// Awaits a GPU read of the newest run in its own task and hands the values to the lab;
    /// `busy` is set meanwhile.
    fn await_read(&self, read: Read, busy: Option<StoredValue<bool>>) {
        // An experiment's lane reads need no run (ids start at 1).
        let id = self.lab.with_value(Lab::newest_id).unwrap_or(0);
        let attention = matches!(read, Read::Example(..));
        let generation = self.lab.with_value(Lab::engine_generation);
        if let Some(busy) = busy {
            busy.set_value(true);
        }
        let state = *self;
        spawn_local(async move {
            let result = read.wait().await;
            state.lab.update_value(|lab| {
                // A read of an engine lost since belongs to steps trained again.
                if lab.engine_generation() == generation {
                    lab.read_done(id, result);
                }
            });
            if let Some(busy) = busy {
                busy.set_value(false);
            }
            if attention {
                state.attention.update(|a| *a += 1);
            }
            if !state.playing.get_untracked() {
                // Paused (a single step): nothing else will draw what arrived.
                state.draw_charts(now_ms());
            }
        });
    }

    /// One task of the CPU loop: the attention maps or the charts when they are due, else
    /// training for the budget; then the next task while playing and a run has steps left.
    /// Attention, charts and training never share a task, so that each stays short.
    fn tick(&self) {
        self.looping.set_value(false);
        // Switched to the WebGPU engine: its own loop takes over (`choose_engine`).
        if !self.playing.get_untracked() || self.lab.with_value(Lab::on_gpu) {
            return;
        }
        let now = now_ms();
        // A drawing task ends where the next task begins: the views' effects run after the
        // tick, in its task.
        if let Some(began) = self.drawing_since.get_value() {
            self.drawing_since.set_value(None);
            self.draw_not_before.set_value(now + (now - began));
        }
        let may_draw = now >= self.draw_not_before.get_value();
        let in_experiment = self.lab.with_value(Lab::experiment_training);
        // Before the first step the charts have nothing to redraw (the stages drew them
        // empty); the attention maps do: the untrained model's, the first snapshot.
        let started = self.first_step_ms.get_value().is_some();
        if may_draw && now - self.last_attention.get_value() >= ATTENTION_EVERY_MS {
            self.drawing_since.set_value(Some(now));
            self.refresh_attention(now);
        } else if may_draw && started && now - self.last_draw.get_value() >= DRAW_EVERY_MS {
            self.drawing_since.set_value(Some(now));
            self.draw_charts(now);
        } else {
            self.train(TASK_BUDGET_SECONDS);
        }
        // An experiment that ends pauses the page: the visitor's run waits for play.
        let going = self.lab.with_value(|lab| match in_experiment {
            true => lab.experiment_training(),
            false => lab.training_run().is_some(),
        });
        if going {
            self.play();
        } else {
            self.playing.set(false);
            self.draw_all();
        }
    }

    /// Trains on the CPU engine for `budget` seconds (at least one step) and extends the text
    /// sample.
    fn train(&self, budget: f64) {
        super::start_marks::timed("cpu-train", || {
            self.lab.update_value(|lab| {
                lab.train(budget, &now_seconds);
                // The CPU engine adds its tokens at once: there is no read to await.
                let _ = lab.extend_sample();
            })
        });
        self.note_first_step();
        self.progress.update(|p| *p += 1);
    }

    /// Remembers when the first step was recorded, for the tests' benchmark.
    fn note_first_step(&self) {
        if self.first_step_ms.get_value().is_none()
            && self
                .lab
                .with_value(|lab| lab.runs.last().is_some_and(|r| r.session.steps_done() > 0))
        {
            self.first_step_ms.set_value(Some(now_ms()));
            super::start_marks::first_step();
        }
    }

    /// Recomputes the attention maps (one forward) and redraws them: at once on the CPU
    /// engine, when the read arrives on the GPU.
    fn refresh_attention(&self, now: f64) {
        self.last_attention.set_value(now);
        if self.reading_attention.get_value() {
            return;
        }
        let refreshed = super::start_marks::timed("attention-forward", || {
            self.lab.try_update_value(Lab::refresh_attention).flatten()
        });
        match refreshed {
            Some(read) => self.await_read(read, Some(self.reading_attention)),
            None => self.attention.update(|a| *a += 1),
        }
    }

    /// Redraws the line charts and the snapshot.
    fn draw_charts(&self, now: f64) {
        self.last_draw.set_value(now);
        self.charts.update(|c| *c += 1);
        self.publish_snapshot();
        self.keep_if_due();
    }

    /// Every view at once, after the visitor did something.
    fn draw_all(&self) {
        let now = now_ms();
        self.refresh_attention(now);
        self.draw_charts(now);
    }

    /// The page's state for tests and curious visitors: `window.__archlab`.
    fn publish_snapshot(&self) {
        let playing = self.playing.get_untracked();
        let mut snapshot = self.lab.with_value(|lab| views::snapshot(lab, playing));
        snapshot["first_step_ms"] = self.first_step_ms.get_value().into();
        snapshot["lang"] = self.lab.with_value(|lab| lab.lang().code()).into();
        // WebAssembly memory only grows: its size is the page's high-water mark.
        if let Ok(memory) = wasm_bindgen::memory().dyn_into::<js_sys::WebAssembly::Memory>() {
            let bytes = memory
                .buffer()
                .unchecked_into::<js_sys::ArrayBuffer>()
                .byte_length();
            snapshot["wasm_memory_bytes"] = bytes.into();
        }
        let (Some(window), Ok(value)) = (
            web_sys::window(),
            js_sys::JSON::parse(&snapshot.to_string()),
        ) else {
            return;
        };
        let _ = js_sys::Reflect::set(&window, &JsValue::from_str("__archlab"), &value);
    }

    /// The non-default settings into the address bar, without a new history entry.
    pub(super) fn write_url(&self) {
        let query = url::encode(&self.lab.with_value(Lab::url_settings));
        let Some(window) = web_sys::window() else {
            return;
        };
        let location = window.location();
        // The fragment stays: it holds the tour's stop (`ui::tour`).
        let target = format!(
            "{}{query}{}",
            location.pathname().unwrap_or_default(),
            location.hash().unwrap_or_default()
        );
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&target));
        }
    }
}
