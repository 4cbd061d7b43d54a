//! `archlab experiment`: a lecture claim trained as its variants in lockstep (interleaved step
//! by step on one engine, each over several seeds), with overlaid charts and a report that puts
//! the claim next to the numbers and a verdict computed from them by a stated rule.

use std::path::PathBuf;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::Instant;

use archlab::gpu::GpuContext;
use archlab::train::experiments::{Experiment, EXPERIMENTS};
use archlab::train::lockstep::{self, Lane, Lockstep};
use archlab::train::run::RunConfig;
use archlab::train::session::Session;

use crate::engines::{self, Backend};
use crate::evidence::{self, Variant};
use crate::train::{apply_sets, refuse, save_run};

#[derive(clap::Args)]
pub struct ExperimentArgs {
    /// The experiment (see --list).
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
    /// Folder for the report, the overlaid charts and one run folder per variant and seed
    /// (default: experiments/<name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
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
    let Some(experiment) = Experiment::named(name) else {
        let names: Vec<_> = EXPERIMENTS.iter().map(|e| e.name).collect();
        return refuse(format!(
            "experiment: unknown {name:?}; one of {}",
            names.join(", ")
        ));
    };
    let mut runs = match experiment.runs(&RunConfig::default()) {
        Ok(runs) => runs,
        Err(error) => return refuse(error),
    };
    let gpu = match engines::context(args.backend) {
        Ok(gpu) => gpu,
        Err(error) => return refuse(error),
    };
    for (_, run) in &mut runs {
        if let Err(error) = apply_sets(run, &args.sets) {
            return refuse(error);
        }
    }
    let seeds = args.seeds as usize;
    let lanes = match lanes(&runs, seeds, gpu.as_ref()) {
        Ok(lanes) => lanes,
        Err(error) => return refuse(error),
    };
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("experiments").join(experiment.name));
    println!(
        "{}: {}\n  {}\n  {} variants x {seeds} seeds in lockstep on the {}",
        experiment.name,
        experiment.claim,
        experiment.source,
        runs.len(),
        lanes[0].engine.describe()
    );

    let mut lockstep = Lockstep::new(lanes);
    train_in_lockstep(&mut lockstep, &runs);
    for lane in &mut lockstep.lanes {
        let label = runs[lane.variant].0;
        let folder = if seeds == 1 {
            out.join(slug(label))
        } else {
            out.join(slug(label)).join(format!("seed-{}", lane.seed))
        };
        if let Err(error) = save_run(&lane.session, lane.engine.as_mut(), &folder) {
            eprintln!("error: writing {}: {error}", folder.display());
            return ExitCode::FAILURE;
        }
    }
    let variants: Vec<Variant> = (runs.iter().enumerate())
        .map(|(index, (label, _))| {
            let sessions = (lockstep.lanes.iter())
                .filter(|l| l.variant == index)
                .map(|l| &l.session);
            Variant::new(label, experiment.loss, sessions)
        })
        .collect();
    match evidence::write_report(experiment, &variants, &out) {
        Ok(summary) => {
            println!("{summary}wrote {}", out.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: writing {}: {error}", out.display());
            ExitCode::FAILURE
        }
    }
}

/// A lane for every variant of `runs` at every seed (seed s sets `train.seed` to the base seed
/// plus s), engines opened on `gpu` (or the CPU): data and model validated before any trains.
pub fn lanes(
    runs: &[(&str, RunConfig)],
    seeds: usize,
    gpu: Option<&Rc<GpuContext>>,
) -> Result<Vec<Lane>, String> {
    let mut lanes = Vec::new();
    for (variant, seed, mut run) in lockstep::seeded(runs, seeds) {
        let label = runs[variant].0;
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
pub fn train_in_lockstep(lockstep: &mut Lockstep, runs: &[(&str, RunConfig)]) {
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
                format!("{label} {mean:.3}")
            })
            .collect();
        progress.set_message(losses.join("  "));
    };
    lockstep.run_blocking(&clock, shown);
    progress.finish_and_clear();
    for lane in &lockstep.lanes {
        let status = lane.session.status;
        if !matches!(status, archlab::train::session::RunStatus::Finished) {
            println!("  {} seed {}: {status:?}", runs[lane.variant].0, lane.seed);
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
