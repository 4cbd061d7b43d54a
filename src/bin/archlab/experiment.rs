//! `archlab experiment`: a lecture claim trained as its variants in lockstep (interleaved step
//! by step on one engine, each over several seeds), with overlaid charts and a report that puts
//! the claim next to the numbers and a verdict computed from them by a stated rule. `all`
//! measures every experiment and writes docs/experiments.md (experiments_doc).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

use archlab::gpu::GpuContext;
use archlab::lab::{at_cpu_scale, page_defaults};
use archlab::train::experiments::{Experiment, LossUnit, EXPERIMENTS};
use archlab::train::lockstep::{self, Lane, Lockstep};
use archlab::train::run::{RunConfig, RunError};
use archlab::train::session::Session;

use crate::engines::{self, Backend};
use crate::evidence::{self, Variant};
use crate::experiments_doc;
use crate::train::{apply_sets, refuse, save_run};

#[derive(clap::Args)]
pub struct ExperimentArgs {
    /// The experiment (see --list), or `all`: every experiment in the lecture's order (or those
    /// of --only), the document --doc rewritten as each finishes.
    name: Option<String>,
    /// List the experiments with their claims.
    #[arg(long)]
    list: bool,
    /// Override a setting in every variant, after the experiment's own (repeatable), e.g.
    /// --set train.steps=100 for a quicker look.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Train each variant over this many seeds: seed s sets train.seed to the base seed plus s
    /// (initial values, dropout and batches). Measured claims need 2 or more for a verdict.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..=32))]
    seeds: u32,
    /// The engine.
    #[arg(long, value_enum, default_value = "auto")]
    backend: Backend,
    /// The configuration the experiment's settings apply over: the command line's defaults,
    /// or the page's on the WebGPU engine (`page`) or on its CPU engine (`page-cpu`).
    #[arg(long, value_enum, default_value = "cli")]
    scale: Scale,
    /// Folder for the report, the overlaid charts and one run folder per variant and seed
    /// (default: experiments/<name>; with `all`, DIR/<name> for each).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// With `all`: only these experiments, comma-separated; the document keeps its other
    /// sections as they are.
    #[arg(long, value_name = "NAME,NAME,...")]
    only: Option<String>,
    /// With `all`: the document to write (default docs/experiments.md).
    #[arg(long, value_name = "FILE")]
    doc: Option<PathBuf>,
}

pub fn run(args: ExperimentArgs) -> ExitCode {
    let name = match (&args.name, args.list) {
        (_, true) | (None, false) => {
            for e in &EXPERIMENTS {
                println!(
                    "{:<18} {} ({})\n{:<18} {}",
                    e.name, e.section, e.source, "", e.claim
                );
            }
            return ExitCode::SUCCESS;
        }
        (Some(name), false) => name,
    };
    if name == "all" {
        return run_all(&args);
    }
    if args.only.is_some() || args.doc.is_some() {
        return refuse("only, doc: they apply to `archlab experiment all`");
    }
    let Some(experiment) = Experiment::named(name) else {
        return refuse(format!(
            "experiment: unknown {name:?}; one of all, {}",
            names().join(", ")
        ));
    };
    let (runs, start) = match configured(experiment, args.scale, &args.sets)
        .and_then(|runs| Ok((runs, described(args.scale)?)))
    {
        Ok(configured) => configured,
        Err(error) => return refuse(error),
    };
    let gpu = match engines::context(args.backend) {
        Ok(gpu) => gpu,
        Err(error) => return refuse(error),
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("experiments").join(experiment.name));
    match measure(experiment, &runs, &start, args.seeds, gpu.as_ref(), &out) {
        Ok(measured) => {
            println!("{}wrote {}", measured.summary, out.display());
            ExitCode::SUCCESS
        }
        Err(failure) => failure.exit(),
    }
}

/// `archlab experiment all`: every chosen experiment configured first (a bad --set or --only
/// refuses before anything trains), then each measured in turn and its section of the
/// document rewritten as soon as it finishes, so an interrupted run keeps what it measured.
fn run_all(args: &ExperimentArgs) -> ExitCode {
    let chosen = match args.only.as_deref().map(parse_only) {
        None => EXPERIMENTS.iter().collect(),
        Some(Ok(chosen)) => chosen,
        Some(Err(error)) => return refuse(error),
    };
    let path = args
        .doc
        .clone()
        .unwrap_or_else(|| PathBuf::from("docs/experiments.md"));
    let existing = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(error) => return refuse(format!("doc: {}: {error}", path.display())),
    };
    let mut sections = match experiments_doc::measured_sections(&existing) {
        Ok(sections) => sections,
        Err(error) => return refuse(format!("doc: {}: {error}", path.display())),
    };
    let start = match described(args.scale) {
        Ok(start) => start,
        Err(error) => return refuse(error),
    };
    let mut configured_runs = Vec::new();
    for experiment in &chosen {
        match configured(experiment, args.scale, &args.sets) {
            Ok(runs) => configured_runs.push(runs),
            Err(error) => return refuse(error),
        }
    }
    let gpu = match engines::context(args.backend) {
        Ok(gpu) => gpu,
        Err(error) => return refuse(error),
    };
    let command = experiments_doc::command_line(std::env::args().skip(1));
    let folder = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("experiments"));
    for (experiment, runs) in chosen.iter().zip(&configured_runs) {
        let out = folder.join(experiment.name);
        let measured = match measure(experiment, runs, &start, args.seeds, gpu.as_ref(), &out) {
            Ok(measured) => measured,
            Err(failure) => return failure.exit(),
        };
        let device = match gpu {
            Some(_) => measured.engine.clone(),
            None => format!("{} on {}", measured.engine, experiments_doc::cpu_model()),
        };
        let measurement = experiments_doc::Measurement {
            scale: args.scale,
            start: start.clone(),
            when: experiments_doc::utc_now(),
            device,
            seeds: args.seeds as usize,
            seconds: measured.seconds,
            command: command.clone(),
            sets: &args.sets,
            variants: &measured.variants,
        };
        (sections.entry(experiment.name.to_string()).or_default()).insert(
            args.scale,
            experiments_doc::measured_part(experiment, &measurement),
        );
        let document = experiments_doc::document(
            &sections,
            experiments_doc::page_timings(&existing),
            &measurement.when,
            &command,
        );
        let written = (path.parent().filter(|p| !p.as_os_str().is_empty()))
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, document));
        if let Err(error) = written {
            eprintln!("error: writing {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
        println!(
            "{}wrote {} and {}",
            measured.summary,
            out.display(),
            path.display()
        );
    }
    ExitCode::SUCCESS
}

/// The experiments of `--only` (comma-separated names), in the lecture's order.
fn parse_only(text: &str) -> Result<Vec<&'static Experiment>, String> {
    let mut wanted = Vec::new();
    for name in text.split(',').map(str::trim) {
        if Experiment::named(name).is_none() {
            return Err(format!(
                "only: unknown experiment {name:?}; one of {}",
                names().join(", ")
            ));
        }
        wanted.push(name);
    }
    Ok(EXPERIMENTS
        .iter()
        .filter(|e| wanted.contains(&e.name))
        .collect())
}

fn names() -> Vec<&'static str> {
    EXPERIMENTS.iter().map(|e| e.name).collect()
}

/// Where an experiment's settings apply: the configuration its variants start from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Scale {
    /// `RunConfig::default()`, as `archlab train` starts.
    Cli,
    /// The page's defaults on the WebGPU engine (`lab::page_defaults`).
    Page,
    /// The page's defaults on its CPU engine (`lab::page_defaults` at `lab::CPU_SCALE`).
    PageCpu,
}

impl Scale {
    /// The configuration the experiment's settings apply over, as the page builds it.
    pub fn start(self) -> Result<RunConfig, RunError> {
        match self {
            Scale::Cli => Ok(RunConfig::default()),
            Scale::Page => Ok(page_defaults()),
            Scale::PageCpu => at_cpu_scale(page_defaults()),
        }
    }

    /// The name `--scale` takes.
    pub fn name(self) -> &'static str {
        match self {
            Scale::Cli => "cli",
            Scale::Page => "page",
            Scale::PageCpu => "page-cpu",
        }
    }

    /// Which scale it is, in words.
    pub fn title(self) -> &'static str {
        match self {
            Scale::Cli => "the command line's scale",
            Scale::Page => "the page's scale on WebGPU",
            Scale::PageCpu => "the page's scale on its CPU engine",
        }
    }

    /// Its title with the shape it starts from: width, depth, context and batch.
    pub fn describe(self) -> Result<String, RunError> {
        let start = self.start()?;
        let (model, train) = (&start.model, &start.train);
        Ok(format!(
            "{} (d_model {}, {} layers, context {}, batches of {} x {})",
            self.title(),
            model.d_model,
            model.n_layers,
            model.context_len,
            train.batch_size,
            train.seq_len
        ))
    }
}

/// The experiment's runs over `scale`'s start with `sets` applied over its own settings, each
/// validated.
fn configured(
    experiment: &Experiment,
    scale: Scale,
    sets: &[String],
) -> Result<Vec<(&'static str, RunConfig)>, String> {
    let start = scale.start().map_err(|e| format!("scale: {e}"))?;
    let mut runs = experiment
        .runs(&start)
        .map_err(|e| format!("{}: {e}", experiment.name))?;
    for (label, run) in &mut runs {
        apply_sets(run, sets).map_err(|e| e.to_string())?;
        run.validate()
            .map_err(|e| format!("{} / {label}: {e}", experiment.name))?;
    }
    Ok(runs)
}

/// An experiment trained and reported.
pub struct Measured {
    pub variants: Vec<Variant>,
    /// The engine the lanes ran on, in its own words.
    pub engine: String,
    /// Wall time of the training, in seconds.
    pub seconds: f64,
    /// The results table and verdicts, for the terminal.
    pub summary: String,
}

/// Why measuring stopped: bad input (exit 2) or a file that could not be written.
pub enum Failure {
    Refused(String),
    Writing(String),
}

impl Failure {
    pub fn exit(self) -> ExitCode {
        match self {
            Failure::Refused(error) => refuse(error),
            Failure::Writing(error) => {
                eprintln!("error: writing {error}");
                ExitCode::FAILURE
            }
        }
    }
}

/// `--scale`'s description, or the error that keeps it from its start.
fn described(scale: Scale) -> Result<String, String> {
    scale.describe().map_err(|e| format!("scale: {e}"))
}

/// Trains `runs` (the experiment's variants, configured over `start`, the scale in words) over
/// `seeds` seeds in lockstep and writes a run folder per variant and seed and the report under
/// `out`.
fn measure(
    experiment: &Experiment,
    runs: &[(&'static str, RunConfig)],
    start: &str,
    seeds: u32,
    gpu: Option<&Rc<GpuContext>>,
    out: &Path,
) -> Result<Measured, Failure> {
    let seeds = seeds as usize;
    let lanes = lanes(runs, seeds, gpu).map_err(Failure::Refused)?;
    let lane_steps: usize = (lanes.iter()).map(|l| l.session.run.train.steps).sum();
    println!(
        "{}: {}\n  {}\n  {} variants x {seeds} seeds in lockstep ({lane_steps} lane steps) on \
         the {}, at {start}",
        experiment.name,
        experiment.claim,
        experiment.source,
        runs.len(),
        lanes[0].engine.describe(),
    );
    let mut measured = train_and_save(lanes, runs, seeds, experiment.loss, out)?;
    measured.summary = evidence::write_report(experiment, &measured.variants, out)
        .map_err(|e| Failure::Writing(format!("{}: {e}", out.display())))?;
    Ok(measured)
}

/// Trains `lanes` (of `runs`' variants over `seeds` seeds) to their end in lockstep and writes
/// a run folder per variant (and seed, if more than one) under `out`; each variant's numbers
/// compare their validation loss in `loss`. The summary is left for the report to fill.
pub fn train_and_save<L: AsRef<str>>(
    lanes: Vec<Lane>,
    runs: &[(L, RunConfig)],
    seeds: usize,
    loss: LossUnit,
    out: &Path,
) -> Result<Measured, Failure> {
    let engine = lanes[0].engine.describe();
    let started = Instant::now();
    let mut lockstep = Lockstep::new(lanes);
    train_in_lockstep(&mut lockstep, runs);
    let seconds = started.elapsed().as_secs_f64();
    for lane in &mut lockstep.lanes {
        let label = runs[lane.variant].0.as_ref();
        let folder = if seeds == 1 {
            out.join(slug(label))
        } else {
            out.join(slug(label)).join(format!("seed-{}", lane.seed))
        };
        save_run(&lane.session, lane.engine.as_mut(), &folder)
            .map_err(|e| Failure::Writing(format!("{}: {e}", folder.display())))?;
    }
    let variants: Vec<Variant> = (runs.iter().enumerate())
        .map(|(index, (label, _))| {
            let sessions = (lockstep.lanes.iter())
                .filter(|l| l.variant == index)
                .map(|l| &l.session);
            Variant::new(label.as_ref(), loss, sessions)
        })
        .collect();
    Ok(Measured {
        variants,
        engine,
        seconds,
        summary: String::new(),
    })
}

/// A lane for every variant of `runs` at every seed (seed s sets `train.seed` to the base seed
/// plus s), engines opened on `gpu` (or the CPU): data and model validated before any trains.
pub fn lanes<L: AsRef<str>>(
    runs: &[(L, RunConfig)],
    seeds: usize,
    gpu: Option<&Rc<GpuContext>>,
) -> Result<Vec<Lane>, String> {
    let mut lanes = Vec::new();
    for (variant, seed, mut run) in lockstep::seeded(runs, seeds) {
        let label = runs[variant].0.as_ref();
        let data = run.build_data(None).map_err(|e| format!("{label}: {e}"))?;
        let shape = (run.train.batch_size, run.train.seq_len);
        let engine = engines::open_on(gpu, &run.model, run.train.seed, shape)
            .map_err(|e| format!("{label}: {e}"))?;
        lanes.push(Lane {
            variant,
            seed,
            session: Session::new(run, data),
            engine,
        });
    }
    Ok(lanes)
}

/// Trains every lane to its end, one step each in turn, with a progress bar showing each
/// variant's latest training loss (mean over its seeds).
pub fn train_in_lockstep<L: AsRef<str>>(lockstep: &mut Lockstep, runs: &[(L, RunConfig)]) {
    let started = Instant::now();
    let clock = || started.elapsed().as_secs_f64();
    let steps = (lockstep.lanes.iter())
        .map(|l| l.session.run.train.steps)
        .max()
        .unwrap_or(0);
    let progress = indicatif::ProgressBar::new(steps as u64);
    progress.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            .expect("a fixed template"),
    );
    let shown = |lockstep: &Lockstep| {
        progress.set_position(lockstep.step() as u64);
        let losses: Vec<String> = (runs.iter().enumerate())
            .map(|(variant, (label, _))| {
                let losses: Vec<f32> = (lockstep.lanes.iter())
                    .filter(|l| l.variant == variant)
                    .filter_map(|l| l.session.history.last().map(|r| r.loss))
                    .collect();
                let mean = losses.iter().sum::<f32>() / losses.len().max(1) as f32;
                format!("{} {mean:.3}", label.as_ref())
            })
            .collect();
        progress.set_message(losses.join("  "));
    };
    lockstep.run_blocking(&clock, shown);
    progress.finish_and_clear();
    for lane in &lockstep.lanes {
        let status = lane.session.status;
        if !matches!(status, archlab::train::session::RunStatus::Finished) {
            println!(
                "  {} seed {}: {status:?}",
                runs[lane.variant].0.as_ref(),
                lane.seed
            );
        }
    }
}

/// A folder name from a label: lowercase letters and digits, dashes between.
fn slug(label: &str) -> String {
    let words: Vec<String> = label
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    words.join("-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use archlab::lab::Lab;
    use clap::ValueEnum;

    /// `--scale page-cpu` builds every experiment's variants as the page does on its CPU engine
    /// (a page opened without WebGPU, before the visitor changes anything).
    #[test]
    fn the_page_cpu_scale_builds_the_runs_the_page_builds_on_its_cpu_engine() {
        let lab = Lab::new(page_defaults(), &[], None);
        for experiment in &EXPERIMENTS {
            let page = lab.experiment_runs(experiment).unwrap();
            let ours = configured(experiment, Scale::PageCpu, &[]).unwrap();
            assert_eq!(ours, page, "{}", experiment.name);
        }
    }

    /// Each scale starts from a different configuration, and its name is the one `--scale`
    /// takes.
    #[test]
    fn scales_differ_and_are_named_as_typed() {
        let scales = Scale::value_variants();
        for (i, a) in scales.iter().enumerate() {
            let typed = a.to_possible_value().unwrap();
            assert_eq!(typed.get_name(), a.name());
            for b in &scales[i + 1..] {
                assert_ne!(a.start().unwrap(), b.start().unwrap(), "{a:?} and {b:?}");
            }
        }
    }
}
