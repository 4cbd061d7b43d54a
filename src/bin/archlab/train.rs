//! `archlab train`: configure (preset, file, `--set`), validate everything before writing
//! anything, train with a progress bar, then write metrics, charts and a summary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use archlab::checkpoint::{self, Checkpoint};
use archlab::contract::engine::wait;
use archlab::contract::{Batch, Engine};
use archlab::train::corpus;
use archlab::train::data::{DataSource, DataStream};
use archlab::train::run::{RunConfig, RunError};
use archlab::train::session::Session;

use crate::engines::{self, Backend, AHEAD};
use crate::{init, report};

#[derive(clap::Args)]
pub struct TrainArgs {
    /// Start from a preset (its model and training settings): default, transformer2017, gpt2,
    /// gptj, palm, llama, mistral, olmo2, gemma2, qwen3.
    #[arg(long)]
    preset: Option<String>,
    /// A JSON run configuration ({"model": {..}, "train": {..}, "data": {..}}) laid over the
    /// preset; keys it leaves out keep their values.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Set one value by its dotted key, after the file (repeatable): --set model.norm=layer_norm
    /// --set train.lr=0.01 --set model.attention.sliding_window.window=8
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Train on this UTF-8 text file instead of the built-in corpus (with the corpus' tokenizer).
    #[arg(long, value_name = "FILE")]
    text: Option<PathBuf>,
    /// The engine.
    #[arg(long, value_enum, default_value = "auto")]
    backend: Backend,
    /// Folder for the metrics, charts and checkpoint (default: runs/<seconds since 1970>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Continue the run saved in this folder (by an earlier `archlab train`) up to train.steps.
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
    /// Start a new run from these weights: our checkpoint folder or a Hugging Face folder
    /// (config.json + model.safetensors). The model is the folder's; training settings come
    /// from --config and --set; fresh AdamW state, step 0.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["resume", "preset"])]
    init: Option<PathBuf>,
    /// Train on this `[batch][seq]` JSON array of token ids at every step (labels as in
    /// `archlab eval`: each position predicts the next; it sets train.batch_size and
    /// train.seq_len), validating on the same batch. Needs --init or --resume for the model
    /// whose vocabulary the ids index.
    #[arg(long, value_name = "FILE.json", conflicts_with = "text")]
    tokens: Option<PathBuf>,
}

/// Invalid input: the message names the field, and nothing is written.
const EXIT_INVALID: u8 = 2;

/// Prints `error: field: reason` and returns exit code 2.
pub fn refuse(error: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(EXIT_INVALID)
}

pub fn run(args: TrainArgs) -> ExitCode {
    let Configured {
        mut run,
        text,
        resumed,
        tokens,
    } = match configure(&args) {
        Ok(configured) => configured,
        Err(error) => return refuse(error),
    };
    let data = match (&tokens, &resumed) {
        // Given tokens: every step's batch and the validation batch.
        (Some(batch), _) => Ok(DataStream::fixed(batch.clone(), run.model.vocab_size)),
        // Given weights (--init or --resume) keep their vocabulary.
        (None, Some(_)) => init::build_data(&mut run, text.as_deref()),
        (None, None) => run.build_data(text.as_deref()).map_err(|e| e.to_string()),
    };
    let data = match data {
        Ok(data) => data,
        Err(error) => return refuse(error),
    };
    let mut engine = match engines::open(
        args.backend,
        &run.model,
        run.train.seed,
        (run.train.batch_size, run.train.seq_len),
    ) {
        Ok(engine) => engine,
        Err(error) => return refuse(error),
    };
    let first_step = match resumed {
        None => 0,
        Some(checkpoint) => {
            let field = if args.init.is_some() {
                "init"
            } else {
                "resume"
            };
            match restore(engine.as_mut(), checkpoint, field) {
                Ok(step) => step,
                Err(error) => return refuse(error),
            }
        }
    };
    let out = args.out.clone().unwrap_or_else(default_out_dir);
    if let Err(error) = std::fs::create_dir_all(&out) {
        return refuse(format!("out: cannot create {}: {error}", out.display()));
    }

    let mut session = Session::resume(run, data, first_step);
    print_header(&session.run, engine.as_ref(), first_step);
    print_start(&args, tokens.as_ref());
    train_to_end(&mut session, engine.as_mut());
    let saved = save_run(&session, engine.as_mut(), &out).and_then(|summary| match &tokens {
        // The run folder keeps the data it trained on (config.json's data section is unused).
        Some(batch) => std::fs::write(out.join("tokens.json"), init::tokens_json(batch))
            .map(|()| summary)
            .map_err(|e| format!("tokens.json: {e}")),
        None => Ok(summary),
    });
    match saved {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: writing {}: {error}", out.display());
            ExitCode::FAILURE
        }
    }
}

/// Trains `session` on `engine` until it finishes, diverges or the engine fails (the session
/// then marks the run stopped, keeping its history), with a progress bar.
pub fn train_to_end(session: &mut Session, engine: &mut dyn Engine) {
    let started = Instant::now();
    let clock = || started.elapsed().as_secs_f64();
    let progress = indicatif::ProgressBar::new(session.run.train.steps as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .expect("a fixed template"),
    );
    let shown = |session: &Session| {
        let Some(record) = session.history.last() else {
            return;
        };
        progress.set_position(record.step as u64 + 1);
        let last_val = session.last_val_loss().unwrap_or(f32::NAN);
        let message = format!("loss {:.4}  val {:.4}", record.loss, last_val);
        let steps_per_second = session.history.len() as f64 / clock();
        progress.set_message(format!("{message}  {steps_per_second:.1} steps/s"));
    };
    if let Err(error) = session.run_blocking(engine, AHEAD, &clock, shown) {
        session.stop();
        eprintln!("error: the engine stopped the run: {error}");
    }
    progress.finish_and_clear();
}

/// Writes the run folder: the checkpoint (parameters, optimizer state, configuration) and the
/// report; returns the summary line.
pub fn save_run(session: &Session, engine: &mut dyn Engine, out: &Path) -> Result<String, String> {
    let state = wait(engine.start_state()).map_err(|e| e.to_string())?;
    let checkpoint = Checkpoint {
        run: session.run.clone(),
        params: state.params,
        optimizer: Some(state.optimizer),
        step: session.steps_done(),
    };
    checkpoint::dir::save(out, &checkpoint).map_err(|e| e.to_string())?;
    report::write(session, engine, out)
}

/// Loads a checkpoint's parameters and optimizer state into `engine`; returns its step.
/// `field` names the flag it came from in errors.
fn restore(engine: &mut dyn Engine, checkpoint: Checkpoint, field: &str) -> Result<usize, String> {
    engine
        .set_params(&checkpoint.params)
        .map_err(|e| format!("{field}: {e}"))?;
    if let Some(state) = checkpoint.optimizer {
        engine
            .set_optimizer_state(state)
            .map_err(|e| format!("{field}: {e}"))?;
    }
    Ok(checkpoint.step)
}

/// Everything `configure` read and checked.
struct Configured {
    run: RunConfig,
    /// The `--text` file's contents.
    text: Option<String>,
    /// The checkpoint to start from (`--resume`, or `--init` with step 0 and no optimizer).
    resumed: Option<Checkpoint>,
    /// The `--tokens` batch.
    tokens: Option<Batch>,
}

/// Preset or starting weights, then file, then `--set`s, then `--text` or `--tokens`: every
/// input read and checked before any engine exists or any file is written.
fn configure(args: &TrainArgs) -> Result<Configured, RunError> {
    let error = |field: &str, reason: String| RunError {
        field: field.into(),
        reason,
    };
    if args.tokens.is_some() && args.init.is_none() && args.resume.is_none() {
        let reason = "needs --init DIR or --resume DIR: the ids index that model's vocabulary";
        return Err(error("tokens", reason.into()));
    }
    let resumed = match &args.resume {
        None => None,
        Some(_) if args.preset.is_some() || args.config.is_some() => {
            let reason = "a resumed run keeps its configuration; use --set for training values";
            return Err(error("resume", reason.into()));
        }
        Some(dir) => Some(
            checkpoint::dir::load(dir)
                .map_err(|e| error("resume", e.to_string()))?
                .0,
        ),
    };
    let resumed = match &args.init {
        Some(dir) => Some(init::load(dir)?),
        None => resumed,
    };
    let mut run = match (&args.preset, &resumed) {
        (_, Some(checkpoint)) => checkpoint.run.clone(),
        (Some(name), None) => RunConfig::with_preset(name)?,
        (None, None) => RunConfig::default(),
    };
    if let Some(path) = &args.config {
        apply_config_file(&mut run, path)?;
    }
    apply_sets(&mut run, &args.sets)?;
    let text = match &args.text {
        None => None,
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| error("text", format!("cannot read {}: {e}", path.display())))?;
            let text = corpus::user_text(&bytes).map_err(|e| {
                let message = e.to_string();
                let reason = message.strip_prefix("text: ").unwrap_or(&message);
                error("text", format!("{}: {reason}", path.display()))
            })?;
            let text = text.to_string();
            // The built-in corpus gives way to the user's text, with the same tokenizer.
            if let DataSource::Corpus { tokenizer } = run.data.source {
                run.data.source = DataSource::Text { tokenizer };
            }
            Some(text)
        }
    };
    let tokens = match &args.tokens {
        Some(path) => Some(init::tokens(path, &mut run)?),
        None => None,
    };
    run.validate()?;
    if let (Some(checkpoint), Some(_)) = (&resumed, &args.init) {
        init::check_architecture(&checkpoint.run.model, &run.model)?;
    } else if let Some(checkpoint) = &resumed {
        let saved = &checkpoint.run.model;
        if saved.vocab_size != run.model.vocab_size {
            let reason = format!(
                "the data's vocabulary has {} tokens, the model's {}",
                run.model.vocab_size, saved.vocab_size
            );
            return Err(error("data", reason));
        }
        if *saved != run.model {
            let reason = "the architecture of a resumed run cannot change";
            return Err(error("model", reason.into()));
        }
    }
    Ok(Configured {
        run,
        text,
        resumed,
        tokens,
    })
}

/// Lays the JSON run configuration in the file at `path` over `run`; the file's name is in
/// every error about it: unreadable, its syntax (line and column) or a key.
pub fn apply_config_file(run: &mut RunConfig, path: &Path) -> Result<(), RunError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| RunError::new("config", format!("cannot read {}: {e}", path.display())))?;
    run.apply_json(&text).map_err(|e| match e.field.as_str() {
        "config" => RunError::new("config", format!("{}: {}", path.display(), e.reason)),
        _ => RunError::new(e.field, format!("{} (in {})", e.reason, path.display())),
    })
}

/// Applies `--set KEY=VALUE` settings in order.
pub fn apply_sets(run: &mut RunConfig, sets: &[String]) -> Result<(), RunError> {
    for setting in sets {
        let (key, value) = setting.split_once('=').ok_or_else(|| RunError {
            field: "set".into(),
            reason: format!("{setting:?} is not KEY=VALUE"),
        })?;
        run.set(key.trim(), value.trim())?;
    }
    Ok(())
}

fn default_out_dir() -> PathBuf {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    PathBuf::from("runs").join(seconds.to_string())
}

/// Where the weights and the batches come from, when given.
fn print_start(args: &TrainArgs, tokens: Option<&Batch>) {
    if let Some(dir) = &args.init {
        println!("weights from {}", dir.display());
    }
    if let (Some(path), Some(batch)) = (&args.tokens, tokens) {
        println!(
            "every step's batch: the {}x{} tokens of {} (validation on the same batch)",
            batch.batch,
            batch.seq,
            path.display()
        );
    }
}

fn print_header(run: &RunConfig, engine: &dyn Engine, first_step: usize) {
    let params = run.model.param_count();
    let changes: Vec<String> = run
        .non_default_settings()
        .into_iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    println!(
        "archlab train: {}, {} parameters ({} non-embedding), {:.2} MFLOP/token, \
         KV cache {} B/token, {} steps of {}x{} tokens",
        engine.describe(),
        params.total(),
        params.non_embedding,
        run.model.flops_per_token() / 1e6,
        run.model.kv_cache_bytes_per_token(),
        run.train.steps,
        run.train.batch_size,
        run.train.seq_len,
    );
    if !changes.is_empty() {
        println!("settings: {}", changes.join(" "));
    }
    if first_step > 0 {
        println!("resuming at step {first_step}");
    }
}
