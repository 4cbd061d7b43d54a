//! What the page does, without the page: the controls' table, the URL form of a configuration,
//! the list of runs with their labels and colours, and the training loop's bookkeeping. Plain
//! structs, compiled and unit-tested natively; `ui` only renders them.

pub mod across_runs;
pub mod checkpoints;
mod compare;
pub mod engine;
pub mod engine_choice;
pub mod experiment_views;
pub mod experiments_text;
pub mod export;
pub mod fields;
pub mod fields_text;
pub mod generate;
pub mod i18n;
mod import_run;
pub mod kept_experiment;
pub mod kernel_check;
pub mod lockstep;
mod memory;
pub mod model_views;
pub mod names_text;
pub mod page_text;
pub mod play;
mod reload;
mod resume;
pub mod rules_text;
pub mod session;
pub mod store;
pub mod sweep;
pub mod tokenizer;
pub mod tour;
pub mod tour_text;
mod training;
pub mod uploads_text;
pub mod url;
pub mod views;

use std::rc::Rc;

use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

pub use reload::{Reopened, SaveMark, SAVE_EVERY_SECONDS};
pub use resume::RESUME_EVERY;
pub use training::{Read, ReadResult, GPU_AHEAD};

use crate::charts::AttentionMap;
use crate::checkpoint::Checkpoint;
use crate::contract::engine::{now, sample_token, start_next_token};
use crate::contract::{Engine, EngineError, ForwardViews, LayerNorms, Pending};
use crate::gpu::GpuContext;
use crate::model::ModelConfig;
use crate::train::corpus;
use crate::train::data::{BatchShape, DataConfig, DataSource, DataStream};
use crate::train::hf_tokenizer::HfTokenizer;
use crate::train::run::{value_text, RunConfig, RunError};
use crate::train::session::{PendingValidation, RunStatus, Session};
use engine_choice::EngineChoice;
use i18n::Lang;
use tour_text::fill;

/// The page's starting point on the WebGPU engine, and the reference its URL is written
/// against: the `default` preset (d_model 64, 4 heads) with 4 layers, batches of 16 x 64.
pub fn page_defaults() -> RunConfig {
    let mut run = RunConfig::default();
    run.model.n_layers = 4;
    run.train.batch_size = 16;
    run.train.seq_len = 64;
    run.train.steps = 2000;
    run.train.eval_interval = 20;
    run
}

/// Without WebGPU the page trains on the CPU engine on its own thread, so it starts smaller:
/// one step takes a few milliseconds in WebAssembly. Applied before the URL's settings, and
/// written to the URL like any other change, so a link opens the same model everywhere.
pub const CPU_SCALE: [(&str, &str); 5] = [
    ("model.d_model", "32"),
    ("model.n_layers", "2"),
    ("model.context_len", "32"),
    ("train.batch_size", "8"),
    ("train.seq_len", "32"),
];

/// `run` at [`CPU_SCALE`], as the page sets it over [`page_defaults`] on the CPU engine: where
/// its experiments start there, and `archlab experiment --scale page-cpu` with them.
pub fn at_cpu_scale(mut run: RunConfig) -> Result<RunConfig, RunError> {
    for (key, value) in CPU_SCALE {
        run.set(key, value)?;
    }
    Ok(run)
}

/// `current` with preset `name` of [`crate::train::presets::PRESETS`] applied (its model and
/// training settings) at the current scale: width, depth and context stay, as do the data and
/// the rest of the training settings.
pub fn with_preset(current: &RunConfig, name: &str) -> Option<RunConfig> {
    let preset = crate::train::presets::find(name)?;
    let mut run = current.clone();
    preset.apply(&mut run);
    run.model.d_model = current.model.d_model;
    run.model.n_layers = current.model.n_layers;
    run.model.context_len = current.model.context_len;
    Some(run)
}

/// Tokens of a text sample, and how many the CPU engine adds per call of [`Lab::extend_sample`]
/// (each token is one forward pass: a few per task keep the page responsive).
pub const SAMPLE_TOKENS: usize = 80;
const SAMPLE_CHUNK: usize = 4;
/// Snapshots of the attention maps a run keeps for scrubbing back: when there are this many
/// (odd, so that thinning keeps the newest), every other one goes.
pub const SNAPSHOTS: usize = 49;
/// A new sample starts every this many steps.
pub const SAMPLE_EVERY: usize = 100;
/// Sampling temperature of the text samples.
pub const SAMPLE_TEMPERATURE: f32 = 0.8;

impl Example {
    fn new(tokens: Vec<u32>, forward: ForwardViews) -> Self {
        Self {
            tokens,
            attention: forward.attention,
            norms: forward.views.norms,
        }
    }
}

/// The example whose attention maps and norms the page shows: the first validation sequence,
/// or the visitor's own text or token ids ([`Lab::look_at`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Example {
    pub tokens: Vec<u32>,
    /// Attention probabilities `[layer][head, T, T]`.
    pub attention: Vec<Vec<f32>>,
    /// RMS of the residual stream and branch outputs per layer, in this example's forward.
    pub norms: Vec<LayerNorms>,
}

/// One run on the charts.
pub struct RunEntry {
    /// 1-based, never reused: "run 3".
    pub id: usize,
    /// Its difference from the run before it.
    pub label: String,
    /// Index into `charts::PALETTE`.
    pub color: usize,
    pub hidden: bool,
    /// The configuration as the visitor set it (before the data sets the vocabulary).
    pub requested: RunConfig,
    pub session: Session,
    /// Parameters, gradients, AdamW moments and activations (GPU buffers on WebGPU): only the
    /// newest run keeps them, to train, save and resume; an older run's are freed when a newer
    /// run starts ([`Lab::release_engines`]), its history staying on the charts.
    pub engine: Option<Box<dyn Engine>>,
    /// The checkpoint the run was opened from, which a reset starts from again.
    pub opened: Option<Rc<Checkpoint>>,
    /// An imported model's own tokenizer (its folder's `tokenizer.json`), for its text.
    pub tokenizer: Option<Rc<HfTokenizer>>,
    /// The example the attention maps and norms show, when last computed.
    pub example: Example,
    /// Examples computed while training, with the step each was taken at (thinned to at
    /// most [`SNAPSHOTS`], evenly spread), to scrub back through.
    pub snapshots: Vec<(usize, Example)>,
    /// The snapshot shown instead of the latest example, if the visitor scrubbed back.
    pub scrub: Option<usize>,
    /// Steps between snapshots: doubles whenever they are thinned.
    snapshot_every: usize,
    /// The newest states (parameters, AdamW moments, step) to continue from if the device is
    /// lost (`lab::resume`).
    resume: resume::ResumePoints,
    /// Whether the visitor marked it to compare in lockstep (`lab::compare`).
    pub marked: bool,
    /// Generated text (text data only), growing a few tokens per frame.
    pub sample: String,
    sample_tokens: Vec<u32>,
    sample_left: usize,
    samples_started: usize,
}

impl RunEntry {
    /// Run `id` on the charts, without an engine or examples yet.
    fn new(id: usize, label: String, requested: RunConfig, session: Session) -> Self {
        let first_step = session.first_step;
        Self {
            id,
            label,
            color: (id - 1) % crate::charts::RUN_COLORS,
            hidden: false,
            requested,
            session,
            engine: None,
            opened: None,
            tokenizer: None,
            example: Example::default(),
            snapshots: Vec::new(),
            scrub: None,
            snapshot_every: 1,
            resume: resume::ResumePoints::new(first_step),
            marked: false,
            sample: String::new(),
            sample_tokens: Vec::new(),
            sample_left: 0,
            samples_started: 0,
        }
    }

    /// "run 2: +QK-norm" in `lang` (the label is kept in English, as the command line words it,
    /// and named in `lang` by `names_text`).
    pub fn name(&self, lang: Lang) -> String {
        let label = names_text::name(lang, &self.label);
        let id = self.id.to_string();
        fill(
            page_text::of(lang).run_name,
            &[("id", &id), ("label", &label)],
        )
    }

    /// Starts a new text sample when one is due (every [`SAMPLE_EVERY`] steps, text data
    /// only); returns whether tokens are left to add to the current one.
    fn sample_pending(&mut self) -> bool {
        if self.session.data.tokenizer().is_none() {
            return false;
        }
        let due = self.session.steps_done() / SAMPLE_EVERY + 1;
        if self.sample_left == 0 && self.samples_started < due {
            let batch = self.session.display_batch();
            self.sample_tokens = batch.inputs[..8.min(batch.seq)].to_vec();
            self.sample_left = SAMPLE_TOKENS;
            self.samples_started = due;
        }
        self.sample_left > 0
    }

    /// Appends generated tokens to the sample and decodes it.
    fn add_sample_tokens(&mut self, tokens: &[u32]) {
        let n = tokens.len().min(self.sample_left);
        self.sample_tokens.extend(&tokens[..n]);
        self.sample_left -= n;
        if let Some(tokenizer) = self.session.data.tokenizer() {
            self.sample = tokenizer.decode(&self.sample_tokens);
        }
    }

    /// Shows `example` and keeps it as the snapshot of the current step.
    fn keep_example(&mut self, example: Example) {
        let step = self.session.steps_done();
        let due = self
            .snapshots
            .last()
            .is_none_or(|(last, _)| step >= last + self.snapshot_every);
        if due {
            self.snapshots.push((step, example.clone()));
            if self.snapshots.len() == SNAPSHOTS {
                // Every other one goes (the first and the newest stay) and the spacing
                // doubles: the snapshots stay evenly spread over the whole run.
                let mut index = 0;
                self.snapshots.retain(|_| {
                    index += 1;
                    index % 2 == 1
                });
                self.snapshot_every *= 2;
                self.scrub = self.scrub.map(|i| i / 2);
            }
        }
        self.example = example;
    }

    /// The example on show: the scrubbed-to snapshot, else the latest, with its step.
    pub fn shown(&self) -> (Option<usize>, &Example) {
        match self.scrub.and_then(|i| self.snapshots.get(i)) {
            Some((step, example)) => (Some(*step), example),
            None => (None, &self.example),
        }
    }

    /// Seed of the next sample token(s): new for every chunk of every sample.
    fn sample_seed(&self) -> u64 {
        (self.session.steps_done() + self.sample_left) as u64
    }
}

/// The page's state: the configuration the controls show, the errors next to them, and the
/// runs. The newest run is the one that trains.
pub struct Lab {
    /// The page's defaults, against which the URL is written.
    pub base: RunConfig,
    /// This engine's defaults (the base, at the CPU scale without a GPU): the first run is
    /// labelled by its difference from them.
    pub defaults: RunConfig,
    /// The configuration the controls show: every value `RunConfig::set` accepted.
    pub draft: RunConfig,
    /// Values `set` refused, by key: (the value typed, why).
    pub rejected: Vec<(String, String, String)>,
    /// Why the draft cannot train (a validation or data error), if it cannot.
    pub problem: Option<RunError>,
    pub runs: Vec<RunEntry>,
    next_id: usize,
    /// The last data stream built, with what it was built from.
    data_cache: Option<(DataConfig, BatchShape, DataStream)>,
    /// The WebGPU device new runs train on; None trains on the CPU engine.
    gpu: Option<Rc<GpuContext>>,
    /// The WebGPU device the page has, trained on or not (see `engine_choice`).
    device: Option<Rc<GpuContext>>,
    /// The visitor's engine choice, and the sentence saying which engine it gave and why.
    pub engine_choice: EngineChoice,
    pub engine_why: String,
    /// The language the URL or the visitor's switch named, if any; else the browser's.
    pub lang_chosen: Option<Lang>,
    /// The browser's language (`Lang::of_browser`), English until the page says.
    pub browser_lang: Lang,
    /// The visitor's example for the attention maps and norms ([`Lab::look_at`]).
    pub probe: Option<String>,
    /// Smoothing of the training loss curves, 0 (none) to below 1 (see `views::smooth`).
    pub smoothing: f64,
    /// The visitor's text, for the text data source (kept out of the URL: it may be long).
    pub user_text: String,
    /// The lecture experiment training (or trained) in lockstep, if one was started: while it
    /// trains, the visitor's run waits.
    pub experiment: Option<lockstep::PageExperiment>,
    /// What happened to the engine, when a lost GPU device replaced it (`lab::resume`).
    pub engine_notice: Option<String>,
    /// Why the newest run's kept `tokenizer.json` did not come back at a reload, for the
    /// reload's notice (`lab::reload`).
    tokenizer_not_restored: Option<String>,
    /// Bumped whenever a lost device replaced the engines (see [`Lab::engine_generation`]).
    engine_generation: usize,
}

impl Lab {
    /// The page opened with `settings` (from the URL) over `base`, with the WebGPU `device` the
    /// browser gave, if any: training on it when the settings' engine choice (`engine_choice`)
    /// gives the WebGPU engine, else on the CPU engine at [`CPU_SCALE`]. Each refused setting is
    /// kept with its error; a valid result starts the first run.
    pub fn new(
        base: RunConfig,
        settings: &[(String, String)],
        device: Option<Rc<GpuContext>>,
    ) -> Self {
        let mut lab = Self::configured(base, settings, device);
        lab.start_if_changed(None);
        lab
    }

    /// [`Lab::new`] in two parts, for the page to open in two tasks: this builds the first
    /// run's data (tokenizing the corpus), [`Lab::start_first_run`] its engine and session.
    pub fn with_data(
        base: RunConfig,
        settings: &[(String, String)],
        device: Option<Rc<GpuContext>>,
    ) -> Self {
        let mut lab = Self::configured(base, settings, device);
        let draft = lab.draft.clone();
        // A draft refused here is refused again, with its reason, when the run starts.
        if draft.validate().is_ok() {
            let _ = lab.data_for(&draft);
        }
        lab
    }

    /// Starts the first run of a lab from [`Lab::with_data`], on the data built there.
    pub fn start_first_run(&mut self) {
        self.start_if_changed(None);
    }

    /// The page opened with `settings` over `base` (see [`Lab::new`]), before any run starts.
    fn configured(
        base: RunConfig,
        settings: &[(String, String)],
        device: Option<Rc<GpuContext>>,
    ) -> Self {
        // The engine and the language are the page's choices, not settings of the run.
        let (page, settings): (Vec<_>, Vec<_>) = settings
            .iter()
            .partition(|(key, _)| key == engine_choice::URL_KEY || key == i18n::URL_KEY);
        let mut rejected = Vec::new();
        let mut choice = EngineChoice::Auto;
        let mut lang_chosen = None;
        for (key, value) in page {
            let parsed = match key.as_str() {
                engine_choice::URL_KEY => EngineChoice::parse(value).map(|c| choice = c),
                _ => Lang::parse(value).map(|lang| lang_chosen = Some(lang)),
            };
            if let Err(reason) = parsed {
                rejected.push((key.clone(), value.clone(), reason));
            }
        }
        let decision = engine_choice::decide(choice, device.as_ref().map(|d| &d.adapter));
        let mut lab = Self {
            draft: base.clone(),
            defaults: base.clone(),
            base,
            rejected,
            problem: None,
            runs: Vec::new(),
            next_id: 1,
            data_cache: None,
            gpu: device.clone().filter(|_| decision.gpu),
            device,
            engine_choice: choice,
            engine_why: decision.why,
            lang_chosen,
            browser_lang: Lang::En,
            probe: None,
            smoothing: 0.0,
            user_text: String::new(),
            experiment: None,
            engine_notice: None,
            tokenizer_not_restored: None,
            engine_generation: 0,
        };
        if lab.gpu.is_none() {
            for (key, value) in CPU_SCALE {
                lab.set(key, value);
            }
            lab.defaults = lab.draft.clone();
        }
        for (key, value) in settings {
            lab.set(key, value);
        }
        lab
    }

    /// The page's language: the one the URL or the switch named, else the browser's.
    pub fn lang(&self) -> Lang {
        self.lang_chosen.unwrap_or(self.browser_lang)
    }

    /// The browser's language, and the visitor's choice if there is one (which clears a refused
    /// `lang` from the URL).
    pub fn set_language(&mut self, chosen: Option<Lang>, browser: Lang) {
        if let Some(lang) = chosen {
            self.rejected.retain(|(key, _, _)| key != i18n::URL_KEY);
            self.lang_chosen = Some(lang);
        }
        self.browser_lang = browser;
    }

    /// Sets `key` to `value` as a control asks; starts a new run when the result is valid and
    /// differs from the newest run's. Returns whether a run started.
    pub fn change(&mut self, key: &str, value: &str) -> bool {
        self.set(key, value);
        self.start_if_changed(None)
    }

    /// Sets the visitor's text (pasted, or a file's bytes) and trains on it: the text data
    /// source (characters, unless a text source is already chosen) starts a new run. Returns
    /// whether a run started; when none does, `problem` says why (empty, over
    /// [`corpus::TEXT_LIMIT`], not UTF-8 or binary: [`corpus::user_text`]; too short for a
    /// sequence) and the text, the controls and the runs before stay.
    pub fn train_on_text(&mut self, bytes: &[u8]) -> bool {
        let text = match corpus::user_text(bytes) {
            Ok(text) => text,
            Err(error) => {
                let message = error.to_string();
                let reason = message.strip_prefix("text: ").unwrap_or(&message);
                self.problem = Some(RunError {
                    field: "text".into(),
                    reason: reason.into(),
                });
                return false;
            }
        };
        let before = (
            self.draft.clone(),
            self.rejected.clone(),
            std::mem::replace(&mut self.user_text, text.to_string()),
            // The stream of the previous text must not be reused.
            self.data_cache.take(),
        );
        if !matches!(self.draft.data.source, DataSource::Text { .. }) {
            self.set(
                "data.source",
                r#"{"type":"text","tokenizer":{"kind":"char"}}"#,
            );
        }
        let chars = text.chars().count();
        if self.start_draft(Some(format!("your text ({chars} characters)"))) {
            return true;
        }
        // Refused (too short for a sequence, say): what was there before stays.
        (self.draft, self.rejected, self.user_text, self.data_cache) = before;
        false
    }

    /// Replaces the model by a preset (see [`with_preset`]) and starts it.
    pub fn preset(&mut self, name: &str) -> bool {
        let Some(run) = with_preset(&self.draft, name) else {
            return false;
        };
        self.draft = run;
        self.rejected.clear();
        let label = crate::train::presets::find(name).map_or(name, |preset| preset.label);
        self.start_if_changed(Some(format!("{label} preset")))
    }

    /// Restarts the newest run from step 0 with the same configuration (with no run left,
    /// starts the controls' configuration).
    pub fn reset(&mut self) {
        if self.runs.is_empty() {
            self.start_if_changed(None);
        } else if let Some(entry) = self.runs.pop() {
            let previous = self.runs.last().map(|r| r.requested.clone());
            let label = Some(entry.label);
            let (id, opened) = (entry.id, entry.opened);
            match self.start(id, entry.requested, previous.as_ref(), label, opened) {
                Ok(()) => self.set_tokenizer(entry.tokenizer),
                Err(error) => self.problem = Some(error),
            }
        }
    }

    /// Removes a run from the charts. Removing the newest stops its training; the one before
    /// it stays finished where it stopped.
    pub fn remove(&mut self, id: usize) {
        self.runs.retain(|r| r.id != id);
    }

    pub fn toggle_hidden(&mut self, id: usize) {
        if let Some(run) = self.runs.iter_mut().find(|r| r.id == id) {
            run.hidden = !run.hidden;
        }
    }

    /// The training run: the newest, while it has steps left.
    pub fn training_run(&self) -> Option<&RunEntry> {
        self.runs
            .last()
            .filter(|r| r.session.status == RunStatus::Training && r.engine.is_some())
    }

    fn training_mut(&mut self) -> Option<&mut RunEntry> {
        self.runs
            .last_mut()
            .filter(|r| r.session.status == RunStatus::Training && r.engine.is_some())
    }

    /// Whether new runs train on the WebGPU engine.
    pub fn on_gpu(&self) -> bool {
        self.gpu.is_some()
    }

    /// The device new runs train on: after a lost device, the new one, or none (CPU engine).
    pub fn gpu(&self) -> Option<&Rc<GpuContext>> {
        self.gpu.as_ref()
    }

    /// The WebGPU device the page has, trained on or not: after a lost device, the new one, or
    /// none.
    pub fn device(&self) -> Option<&Rc<GpuContext>> {
        self.device.as_ref()
    }

    /// The newest run's id, if any.
    pub fn newest_id(&self) -> Option<usize> {
        self.runs.last().map(|r| r.id)
    }

    /// Shows the newest run's snapshot `index` (None: the latest example).
    pub fn scrub(&mut self, index: Option<usize>) {
        if let Some(run) = self.runs.last_mut() {
            run.scrub = index.filter(|i| *i < run.snapshots.len());
        }
    }

    /// Shows the newest run's attention maps and norms on `input` (empty: the validation
    /// example again): a text in the run's own tokenizer (an imported model's `tokenizer.json`,
    /// else the data's), or token ids separated by spaces or commas (the only way into a model
    /// without a tokenizer: task data, an imported model without `tokenizer.json`). At
    /// most the context's length is used. Refused, with the reason, when it does not encode.
    pub fn look_at(&mut self, input: &str) -> Result<(), String> {
        if input.is_empty() {
            self.probe = None;
            return Ok(());
        }
        self.probe_tokens(input)?;
        self.probe = Some(input.to_string());
        Ok(())
    }

    /// `input` as tokens of the newest run, as [`Lab::look_at`] reads it.
    fn probe_tokens(&self, input: &str) -> Result<Vec<u32>, String> {
        let run = self.runs.last().ok_or("there is no run to look with")?;
        let model = &run.session.run.model;
        let as_ids = || -> Result<Vec<u32>, String> {
            input
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|s| !s.is_empty())
                .map(|s| match s.parse::<u32>() {
                    Ok(id) if (id as usize) < model.vocab_size => Ok(id),
                    Ok(id) => Err(format!(
                        "token id {id} is not below the vocabulary's {}",
                        model.vocab_size
                    )),
                    Err(_) => Err(format!("{s:?} is not a token id")),
                })
                .collect()
        };
        let mut tokens = match run.text_tokenizer() {
            Some(tokenizer) => tokenizer.encode(input)?,
            None => as_ids()?,
        };
        if tokens.is_empty() {
            return Err("no tokens".into());
        }
        tokens.truncate(model.context_len);
        Ok(tokens)
    }

    /// The error to show next to the control of `key`, if any, in the page's language.
    pub fn error_for(&self, key: &str) -> Option<String> {
        if let Some((_, value, reason)) = self.rejected.iter().find(|(k, _, _)| k == key) {
            return Some(self.refused(value, reason));
        }
        let problem = self.problem.as_ref()?;
        (fields::control_for_error(&problem.field).map(|f| f.key) == Some(key))
            .then(|| i18n::translate(self.lang(), &problem.reason))
    }

    /// "\"abc\" refused: why", in the page's language.
    fn refused(&self, value: &str, reason: &str) -> String {
        let lang = self.lang();
        let (value, reason) = (format!("{value:?}"), i18n::translate(lang, reason));
        i18n::fill_holes(lang.pick(i18n::REFUSED), &[&value, &reason])
    }

    /// Every reason the controls' configuration cannot train, each with the key of the control
    /// it is shown next to (None when no control has it): the banner above the views.
    pub fn problems(&self) -> Vec<(Option<&'static str>, String)> {
        let mut out: Vec<(Option<&'static str>, String)> = self
            .rejected
            .iter()
            .map(|(key, value, reason)| {
                let control = fields::field(key).map(|f| f.key);
                (control, format!("{key}: {}", self.refused(value, reason)))
            })
            .collect();
        if let Some(problem) = &self.problem {
            let control = fields::control_for_error(&problem.field).map(|f| f.key);
            let reason = i18n::translate(self.lang(), &problem.reason);
            out.push((control, format!("{}: {reason}", problem.field)));
        }
        out
    }

    /// The settings for the URL: what differs from the page's defaults, refused values
    /// included (so that a shared link shows the same error).
    pub fn url_settings(&self) -> Vec<(String, String)> {
        let mut settings = self.draft.settings_differing_from(&self.base);
        // A page that opens on the CPU engine starts from its defaults (CPU_SCALE over the
        // base): a value the draft shares with the base but not with them (d_model 64) must be
        // written out too, or the link reopens at the CPU's scale.
        for (key, value) in self.draft.settings_differing_from(&self.defaults) {
            if !settings.iter().any(|(k, _)| *k == key) {
                settings.push((key, value));
            }
        }
        if self.engine_choice != EngineChoice::Auto {
            let choice = self.engine_choice.as_str().to_string();
            settings.push((engine_choice::URL_KEY.to_string(), choice));
        }
        // Named once a link or the switch chose it, and for a browser that is not English, so
        // a shared link opens in its language; an English page never switched stays out.
        if self.lang_chosen.is_some() || self.browser_lang != Lang::En {
            settings.push((i18n::URL_KEY.to_string(), self.lang().code().to_string()));
        }
        settings.extend(
            self.rejected
                .iter()
                .map(|(key, value, _)| (key.clone(), value.clone())),
        );
        settings
    }

    fn set(&mut self, key: &str, value: &str) {
        self.rejected.retain(|(k, _, _)| k != key);
        if let Err(error) = self.draft.set(key, value) {
            self.rejected
                .push((key.to_string(), value.to_string(), error.reason));
        }
    }

    /// Starts a run of the draft if it is valid and not what the newest run already trains.
    fn start_if_changed(&mut self, label: Option<String>) -> bool {
        if self.runs.last().map(|r| &r.requested) == Some(&self.draft) {
            self.problem = self.draft.validate().err();
            return false;
        }
        self.start_draft(label)
    }

    /// Starts a run of the draft if it is valid.
    fn start_draft(&mut self, label: Option<String>) -> bool {
        self.problem = self.draft.validate().err();
        if self.problem.is_some() {
            return false;
        }
        let previous = self.runs.last().map(|r| r.requested.clone());
        match self.start(
            self.next_id,
            self.draft.clone(),
            previous.as_ref(),
            label,
            None,
        ) {
            Ok(()) => {
                self.next_id += 1;
                true
            }
            Err(error) => {
                self.problem = Some(error);
                false
            }
        }
    }

    /// Builds the data and engine of `requested` and appends it as run `id`.
    fn start(
        &mut self,
        id: usize,
        requested: RunConfig,
        previous: Option<&RunConfig>,
        label: Option<String>,
        opened: Option<Rc<Checkpoint>>,
    ) -> Result<(), RunError> {
        let mut run = requested.clone();
        run.validate()?;
        let data = self.data_for(&run)?;
        match &opened {
            // A checkpoint keeps its vocabulary; the data's tokens must fit in it.
            Some(_) if data.vocab_size() > run.model.vocab_size => {
                return Err(RunError {
                    field: "data.source".into(),
                    reason: format!(
                        "its {} token ids do not fit the opened model's vocabulary of {}: \
                         choose data with fewer (a task with fewer symbols)",
                        data.vocab_size(),
                        run.model.vocab_size
                    ),
                });
            }
            Some(_) => {}
            None => run.model.vocab_size = data.vocab_size(),
        }
        // Refused before anything is allocated (a huge d_model must not abort the page).
        let mut engine = engine::open_engine(&run, self.gpu.as_ref())?;
        let session = match &opened {
            Some(checkpoint) => {
                checkpoints::restore(engine.as_mut(), checkpoint)?;
                Session::resume(run, data, checkpoint.step)
            }
            None => Session::new(run, data),
        };
        let label = label.unwrap_or_else(|| run_label(previous, &requested, &self.defaults));
        let mut entry = RunEntry::new(id, label, requested, session);
        entry.engine = Some(engine);
        entry.opened = opened;
        self.runs.push(entry);
        self.release_engines();
        Ok(())
    }

    /// The batches of `run` (validated). Tokenizing the corpus is the slow part of a new run:
    /// the last stream is reused (its tokens shared, not copied) when the data and batch size
    /// and length are the same.
    fn data_for(&mut self, run: &RunConfig) -> Result<DataStream, RunError> {
        let shape = run.batch_shape();
        Ok(match &self.data_cache {
            Some((config, cached, stream))
                if *config == run.data
                    && (cached.batch_size, cached.seq_len) == (shape.batch_size, shape.seq_len) =>
            {
                stream.with_seed(shape.seed)
            }
            _ => {
                let text = matches!(run.data.source, DataSource::Text { .. })
                    .then_some(self.user_text.as_str());
                // The caller sets the vocabulary (an opened checkpoint keeps its own).
                let stream = run.clone().build_data(text)?;
                self.data_cache = Some((run.data.clone(), shape, stream.clone()));
                stream
            }
        })
    }
}

/// Ends `session` where an engine error stopped it (its history stays) and says so.
fn engine_failure(session: &mut Session, error: &EngineError) -> RunError {
    session.stop();
    RunError {
        field: "engine".into(),
        reason: format!("the engine stopped this run: {error}"),
    }
}

/// Per-layer attention probabilities `[layer][head, T, T]` as one chart map per layer and
/// head, with each layer's mask.
pub fn attention_maps(model: &ModelConfig, layers: &[Vec<f32>], t: usize) -> Vec<AttentionMap> {
    let mut maps = Vec::new();
    for (layer, probs) in layers.iter().enumerate() {
        let pattern = model.pattern_for_layer(layer);
        let masked: Vec<bool> = (0..t * t).map(|i| !pattern.visible(i / t, i % t)).collect();
        for (head, probs) in probs.chunks_exact(t * t).enumerate() {
            maps.push(AttentionMap {
                layer,
                head,
                t,
                probs: probs.to_vec(),
                masked: masked.clone(),
            });
        }
    }
    maps
}

/// A run's name: how it differs from the run before it (or from the page's defaults for the
/// first), in the controls' words: "+QK-norm, lr 0.003 → 0.01". At most three changes are
/// named.
pub fn run_label(previous: Option<&RunConfig>, next: &RunConfig, base: &RunConfig) -> String {
    let before = previous.unwrap_or(base);
    let changes = next.settings_differing_from(before);
    if changes.is_empty() {
        return if previous.is_some() {
            "rerun"
        } else {
            "page defaults"
        }
        .into();
    }
    let mut parts: Vec<String> = changes
        .iter()
        .take(3)
        .map(|(key, value)| {
            let owner = fields::owner(key);
            // A choice whose option changed is named by its options ("full → sliding window").
            let options = owner
                .and_then(|f| {
                    Some((
                        fields::option_label(f, before)?,
                        fields::option_label(f, next)?,
                    ))
                })
                .filter(|(old, new)| old != new);
            let name = owner
                .filter(|f| f.key == key || options.is_some())
                .map_or_else(|| key.rsplit('.').next().unwrap_or(key), |f| f.label);
            match (value.as_str(), options, before.get(key)) {
                (_, Some((old, new)), _) => format!("{name} {old} → {new}"),
                ("true", None, _) => format!("+{name}"),
                ("false", None, _) => format!("−{name}"),
                (_, None, Some(old)) => format!("{name} {} → {value}", value_text(&old)),
                (_, None, None) => format!("{name} {value}"),
            }
        })
        .collect();
    parts.dedup();
    if changes.len() > 3 {
        parts.push(format!("+{} more", changes.len() - 3));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Settings as the page's URL gives them (the lab's tests share it).
    pub(super) fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A clock that advances a millisecond per reading (the lab's tests share it).
    pub(super) fn clock() -> impl Fn() -> f64 {
        let t = std::cell::Cell::new(0.0);
        move || {
            t.set(t.get() + 0.001);
            t.get()
        }
    }

    #[test]
    fn labels_name_the_difference_from_the_previous_run() {
        let base = page_defaults();
        assert_eq!(run_label(None, &base, &base), "page defaults");
        let mut qk = base.clone();
        qk.set("model.qk_norm", "true").unwrap();
        assert_eq!(run_label(Some(&base), &qk, &base), "+QK-norm");
        let mut lr = qk.clone();
        lr.set("train.lr", "0.01").unwrap();
        lr.set("model.norm", "layer_norm").unwrap();
        assert_eq!(
            run_label(Some(&qk), &lr, &base),
            "norm type RMSNorm → LayerNorm, lr 0.003 → 0.01"
        );
        let mut window = base.clone();
        window
            .set("model.attention.sliding_window.window", "2")
            .unwrap();
        assert_eq!(
            run_label(Some(&base), &window, &base),
            "attention full (causal) → sliding window"
        );
        assert_eq!(run_label(Some(&base), &base, &base), "rerun");
        let mut copy = base.clone();
        copy.set(
            "data.source",
            r#"{"type":"task","task":"copy","length":8,"symbols":10}"#,
        )
        .unwrap();
        assert_eq!(
            run_label(Some(&base), &copy, &base),
            "data Shakespeare, characters → copy task"
        );
        let mut bytes = base.clone();
        bytes.set("data.source.tokenizer.kind", "byte").unwrap();
        assert_eq!(
            run_label(Some(&base), &bytes, &base),
            "data Shakespeare, characters → Shakespeare, bytes"
        );
        let mut post = base.clone();
        post.set("model.norm_position", "post").unwrap();
        assert_eq!(
            run_label(Some(&base), &post, &base),
            "norm position pre → post"
        );
        let gpt2 = with_preset(&base, "gpt2").unwrap();
        assert!(run_label(Some(&base), &gpt2, &base).ends_with("more"));
    }

    #[test]
    fn presets_keep_the_current_scale_and_validate() {
        let mut current = page_defaults();
        current.model.d_model = 48;
        current.model.n_layers = 3;
        for name in crate::train::presets::PRESETS.iter().map(|p| p.name) {
            let run = with_preset(&current, name).unwrap();
            run.validate().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!((run.model.d_model, run.model.n_layers), (48, 3), "{name}");
        }
        for (name, z_loss) in [("palm", 1e-4), ("olmo2", 1e-4), ("llama", 0.0)] {
            let mut from = page_defaults();
            from.train.z_loss = 0.5;
            assert_eq!(with_preset(&from, name).unwrap().train.z_loss, z_loss);
        }
        assert!(with_preset(&page_defaults(), "nope").is_none());
    }

    #[test]
    fn opening_in_two_parts_builds_the_data_first_then_the_run_that_new_starts() {
        let settings = [("train.lr".to_string(), "0.01".to_string())];
        let mut lab = Lab::with_data(page_defaults(), &settings, None);
        assert!(lab.runs.is_empty(), "no run before start_first_run");
        assert!(lab.data_cache.is_some(), "the data is built first");
        lab.start_first_run();
        let whole = Lab::new(page_defaults(), &settings, None);
        assert_eq!(lab.runs.len(), 1);
        assert_eq!(lab.runs[0].name(Lang::En), whole.runs[0].name(Lang::En));
        assert_eq!(lab.runs[0].requested, whole.runs[0].requested);
        assert_eq!(
            lab.runs[0].session.run.model.vocab_size,
            whole.runs[0].session.run.model.vocab_size
        );
        // A refused draft builds nothing and starts nothing; the refusal names its field.
        let refused = [("model.n_kv_heads".to_string(), "3".to_string())];
        let mut lab = Lab::with_data(page_defaults(), &refused, None);
        assert!(lab.data_cache.is_none());
        lab.start_first_run();
        assert!(lab.runs.is_empty());
        assert!(lab.error_for("model.n_kv_heads").is_some());
    }

    #[test]
    fn changes_start_runs_and_errors_sit_next_to_their_control() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        assert_eq!(lab.runs.len(), 1);
        assert_eq!(lab.runs[0].name(Lang::En), "run 1: page defaults");
        assert!(lab.change("model.qk_norm", "true"));
        assert_eq!(lab.runs[1].name(Lang::En), "run 2: +QK-norm");
        assert_eq!(lab.runs[1].color, 1);
        // A rule broken: flagged next to the control, no run.
        assert!(!lab.change("model.n_kv_heads", "3"));
        assert!(lab
            .error_for("model.n_kv_heads")
            .unwrap()
            .contains("divide"));
        assert_eq!(lab.runs.len(), 2);
        // A value of the wrong type: refused, the draft keeps its value, the URL keeps it.
        assert!(!lab.change("model.n_layers", "two"));
        assert!(lab
            .error_for("model.n_layers")
            .unwrap()
            .contains("\"two\" refused"));
        assert_eq!(lab.draft.model.n_layers, 2);
        assert!(lab
            .url_settings()
            .contains(&("model.n_layers".into(), "two".into())));
        // Fixing both starts the next run.
        assert!(!lab.change("model.n_layers", "2"));
        assert!(lab.change("model.n_kv_heads", "2"));
        assert_eq!(lab.runs.last().unwrap().label, "KV heads 4 → 2");
        assert!(lab.error_for("model.n_kv_heads").is_none());
        lab.toggle_hidden(1);
        assert!(lab.runs[0].hidden);
        lab.remove(2);
        assert_eq!(lab.runs.iter().map(|r| r.id).collect::<Vec<_>>(), [1, 3]);
        lab.remove(1);
        lab.remove(3);
        lab.reset();
        assert_eq!(
            lab.runs[0].name(Lang::En),
            "run 4: KV heads 4 → 2, +QK-norm"
        );
    }

    #[test]
    fn the_maps_look_at_the_visitors_text_or_token_ids() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        lab.refresh_attention();
        assert_eq!(
            lab.runs[0].example.tokens.len(),
            32,
            "the validation sequence"
        );
        lab.look_at("to be").unwrap();
        lab.refresh_attention();
        assert_eq!(views::display_tokens(&lab).len(), 5);
        assert_eq!(lab.runs[0].example.attention[0].len(), 4 * 5 * 5);
        // Characters the corpus lacks cannot be encoded; the example stays.
        assert!(lab.look_at("to be 🙂").is_err());
        assert_eq!(lab.probe.as_deref(), Some("to be"));
        // A long text is cut to the context.
        lab.look_at(&"a".repeat(100)).unwrap();
        lab.refresh_attention();
        assert_eq!(lab.runs[0].example.tokens.len(), 32);
        // Task data has no tokenizer: token ids, below the vocabulary.
        let task = r#"{"type":"task","task":"copy","length":6,"symbols":10}"#;
        lab.change("data.source", task);
        let vocab = lab.runs.last().unwrap().session.run.model.vocab_size;
        lab.look_at("1, 2 3").unwrap();
        lab.refresh_attention();
        assert_eq!(lab.runs.last().unwrap().example.tokens, [1, 2, 3]);
        let err = lab.look_at(&format!("1 {vocab}")).unwrap_err();
        assert!(err.contains("not below the vocabulary"), "{err}");
        assert!(lab
            .look_at("1 x")
            .unwrap_err()
            .contains("\"x\" is not a token id"));
        lab.look_at("").unwrap();
        lab.refresh_attention();
        assert_eq!(lab.runs.last().unwrap().example.tokens.len(), 32);
    }

    #[test]
    fn attention_snapshots_spread_over_training_and_scrub_back() {
        let settings = [("train.steps", "200")].map(|(k, v)| (k.to_string(), v.to_string()));
        let mut lab = Lab::new(page_defaults(), &settings, None);
        let clock = clock();
        while lab.training_run().is_some() {
            lab.train(0.0, &clock);
            lab.refresh_attention();
        }
        let run = &lab.runs[0];
        let steps: Vec<usize> = run.snapshots.iter().map(|(s, _)| *s).collect();
        assert!(
            steps.len() < SNAPSHOTS && steps.len() > SNAPSHOTS / 2,
            "{steps:?}"
        );
        // Thinned at 49 snapshots, 97 and 193 steps: 25 of them, every 8 steps from step 1.
        assert_eq!(steps, (0..25).map(|i| 1 + 8 * i).collect::<Vec<_>>());
        // Scrubbing shows a snapshot's maps; None goes back to the latest.
        assert_eq!(run.shown().0, None);
        lab.scrub(Some(0));
        let (step, shown) = lab.runs[0].shown();
        assert_eq!(step, Some(1));
        assert_ne!(
            shown.attention, lab.runs[0].example.attention,
            "step 1's maps differ"
        );
        lab.scrub(Some(10_000));
        assert_eq!(lab.runs[0].shown().0, None, "out of range: the latest");
    }

    #[test]
    fn a_pasted_text_trains_with_its_own_vocabulary() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        // Too short to fill a sequence of 32: refused next to the sequence length.
        assert!(!lab.train_on_text(b"abc"));
        let error = lab
            .error_for("train.seq_len")
            .expect("flagged at the sequence length");
        assert!(error.contains("the text's 3 tokens"), "{error}");
        let text = "the quick brown fox jumps over the lazy dog. ".repeat(40);
        assert!(lab.train_on_text(text.as_bytes()));
        let run = lab.runs.last().unwrap();
        assert_eq!(run.label, "your text (1800 characters)");
        // 26 letters, space and the full stop.
        assert_eq!(run.session.run.model.vocab_size, 28);
        // Another text with the same settings is a new run on its own vocabulary.
        assert!(lab.train_on_text("abab ".repeat(200).as_bytes()));
        assert_eq!(lab.runs.last().unwrap().session.run.model.vocab_size, 3);
        assert_eq!(
            lab.url_settings().len(),
            lab.draft.settings_differing_from(&lab.base).len()
        );
    }

    /// Issue 13: empty, binary, non-UTF-8, oversized or too short text is refused with the
    /// reason, and the text, the controls and the runs before it stay.
    #[test]
    fn bad_text_is_refused_and_the_previous_text_stays() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        let good = "the quick brown fox jumps over the lazy dog. ".repeat(40);
        assert!(lab.train_on_text(good.as_bytes()));
        let oversized = vec![b'a'; corpus::TEXT_LIMIT + 1];
        let cases: [(&[u8], &str); 5] = [
            (b"", "text: is empty: there is nothing to train on"),
            (b"caf\xe9 au lait", "text: not valid UTF-8 from byte 3 on"),
            (
                b"h\0i\0 \0t\0h\0e\0r\0e\0",
                "text: looks binary, not text: control character U+0000 at byte 1",
            ),
            (
                &oversized,
                "text: has 16777217 bytes, more than the limit of 16777216 (16 MiB)",
            ),
            (b"abc", "train.seq_len: 32 needs 33 tokens per sequence"),
        ];
        for (bytes, message) in cases {
            let (runs, draft) = (lab.runs.len(), lab.draft.clone());
            assert!(!lab.train_on_text(bytes), "{message}");
            let problem = lab
                .problem
                .as_ref()
                .expect("the reason is shown")
                .to_string();
            assert!(problem.starts_with(message), "{problem}");
            assert_eq!(lab.user_text, good, "{message}: the text stays");
            assert_eq!(lab.runs.len(), runs);
            assert!(lab.draft == draft, "{message}: the controls stay");
            assert!(
                lab.training_run().is_some(),
                "{message}: the run still trains"
            );
        }
        assert!(lab.train(0.0, &clock()) > 0);
    }

    #[test]
    fn the_url_round_trip_restores_the_configuration_and_its_errors() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        lab.change("model.attention.sliding_window.window", "2");
        lab.change("train.lr", "0.01");
        lab.change("model.final_logit_softcap", "30");
        lab.change("model.n_heads", "x");
        let query = url::encode(&lab.url_settings());
        let restored = Lab::new(page_defaults(), &url::decode(&query), None);
        assert_eq!(restored.draft, lab.draft);
        assert_eq!(restored.draft.model.final_logit_softcap, Some(30.0));
        assert!(restored.error_for("model.n_heads").is_some());
        assert_eq!(restored.runs.len(), 1, "the valid part trains");
    }

    /// The CPU engine's page applies CPU_SCALE below the URL: a run at the base's own size
    /// (d_model 64, 4 layers, context 64) must reopen at that size, not at the CPU's.
    #[test]
    fn on_the_cpu_engine_the_url_keeps_a_value_of_the_base_scale() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        assert_eq!(lab.draft.model.d_model, 32, "the CPU engine's scale");
        lab.change("model.d_model", "64");
        let settings = lab.url_settings();
        assert!(
            settings.contains(&("model.d_model".into(), "64".into())),
            "{settings:?}"
        );
        let query = url::encode(&settings);
        let restored = Lab::new(page_defaults(), &url::decode(&query), None);
        assert_eq!(restored.draft, lab.draft);
    }

    #[test]
    fn training_steps_reset_and_samples() {
        let settings = [("train.steps", "4"), ("train.eval_interval", "2")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let mut lab = Lab::new(page_defaults(), &settings, None);
        // Steps 0, 2 and 3 evaluate: each starts a call.
        assert_eq!(lab.train(10.0, &clock()), 2, "0 and 1, then stops before 2");
        assert_eq!(lab.train(10.0, &clock()), 1, "2, then stops before 3");
        assert_eq!(lab.train(10.0, &clock()), 1, "3, the last");
        assert_eq!(lab.train(10.0, &clock()), 0, "finished");
        lab.refresh_attention();
        let run = &lab.runs[0];
        assert_eq!(run.example.attention.len(), 2);
        assert_eq!(run.example.attention[0].len(), 4 * 32 * 32);
        assert_eq!(run.example.norms.len(), 2);
        for _ in 0..SAMPLE_TOKENS / SAMPLE_CHUNK + 1 {
            lab.extend_sample();
        }
        assert_eq!(lab.runs[0].sample.chars().count(), 8 + SAMPLE_TOKENS);
        lab.reset();
        assert_eq!(lab.runs.len(), 1);
        assert_eq!(lab.runs[0].id, 1, "a reset run keeps its name");
        assert_eq!(lab.runs[0].session.steps_done(), 0);
        assert_eq!(lab.train(0.0, &clock()), 1, "at least one step per call");
    }
}
