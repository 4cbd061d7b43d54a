//! `archlab compare`: run configurations (JSON files, as `archlab train --config` reads them)
//! trained together in lockstep as an experiment's variants are (`experiment`), each over
//! seeds at the first file's seed (`train::lockstep::comparable`): the same batches where the
//! data settings agree, equal initial values in every tensor they share. The report has the
//! results table and charts; no verdict, since the files make no claim.

use std::path::PathBuf;
use std::process::ExitCode;

use archlab::train::experiments::LossUnit;
use archlab::train::lockstep;
use archlab::train::run::{RunConfig, RunError};

use crate::engines::{self, Backend};
use crate::evidence;
use crate::experiment::{lanes, train_and_save, Failure};
use crate::train::{apply_config_file, apply_sets, refuse};

#[derive(clap::Args)]
pub struct CompareArgs {
    /// A JSON run configuration, laid over the defaults (give two or more; each is a variant,
    /// named by its file's name).
    #[arg(long = "config", value_name = "FILE", required = true)]
    configs: Vec<PathBuf>,
    /// Override a setting in every configuration, after its file (repeatable), e.g.
    /// --set train.steps=100.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Train each configuration over this many seeds (seed s adds s to the first file's
    /// train.seed).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=32))]
    seeds: u32,
    /// The engine.
    #[arg(long, value_enum, default_value = "auto")]
    backend: Backend,
    /// Folder for report.md, the charts and one run folder per configuration and seed.
    #[arg(long, value_name = "DIR", default_value = "compare")]
    out: PathBuf,
}

pub fn run(args: CompareArgs) -> ExitCode {
    let runs = match configured(&args) {
        Ok(runs) => runs,
        Err(error) => return refuse(error),
    };
    let gpu = match engines::context(args.backend) {
        Ok(gpu) => gpu,
        Err(error) => return refuse(error),
    };
    let seeds = args.seeds as usize;
    let lanes = match lanes(&runs, seeds, gpu.as_ref()) {
        Ok(lanes) => lanes,
        Err(error) => return refuse(error),
    };
    println!(
        "compare: {} configurations x {seeds} seeds in lockstep on the {}",
        runs.len(),
        lanes[0].engine.describe()
    );
    let data = lanes.iter().map(|lane| &lane.session.data);
    let loss = LossUnit::comparing(data);
    let written = train_and_save(lanes, &runs, seeds, loss, &args.out).and_then(|measured| {
        evidence::write_comparison(&measured.variants, &args.out)
            .map_err(|e| Failure::Writing(format!("{}: {e}", args.out.display())))
    });
    match written {
        Ok(table) => {
            println!("{table}wrote {}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(failure) => failure.exit(),
    }
}

/// Each file's configuration, named by the file's name without its extension, with the
/// `--set`s over it, validated and made comparable: every input checked before anything trains
/// or is written.
fn configured(args: &CompareArgs) -> Result<Vec<(String, RunConfig)>, RunError> {
    let mut runs: Vec<(String, RunConfig)> = Vec::new();
    for path in &args.configs {
        let mut run = RunConfig::default();
        apply_config_file(&mut run, path)?;
        apply_sets(&mut run, &args.sets)?;
        let named =
            |e: RunError| RunError::new(e.field, format!("{} (in {})", e.reason, path.display()));
        run.validate().map_err(named)?;
        let name = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        // The name is the variant's label and its folder's.
        if runs.iter().any(|(other, _)| *other == name) {
            let reason = format!("two files are named {name:?}; their folders would be one");
            return Err(RunError::new("config", reason));
        }
        runs.push((name, run));
    }
    lockstep::comparable(&mut runs)?;
    Ok(runs)
}
