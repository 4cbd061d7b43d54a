//! `archlab sweep`: the learning-rate sweep of Wortsman et al. 2023. At each learning rate the
//! variants of `train::sweep::SWEEP` (and their seeds) train in lockstep; the final validation
//! loss of each goes into `sweep.md`, `sweep.csv` and `sweep.png` (loss against learning rate
//! on a log axis, a diverged learning rate as a triangle at the top).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use archlab::charts::{self, Axes, Scale};
use archlab::lab::page_text::ENGLISH;
use archlab::train::lockstep::Lockstep;
use archlab::train::run::RunConfig;
use archlab::train::sweep::{self, Cell, DEFAULT_LRS, SWEEP};
use plotters::prelude::*;

use crate::engines::{self, Backend};
use crate::experiment::{lanes, train_in_lockstep};
use crate::train::{apply_sets, refuse};

#[derive(clap::Args)]
pub struct SweepArgs {
    /// Learning rates, comma-separated (default 1e-4,5e-4,2.5e-3,1.2e-2,6e-2,3e-1).
    #[arg(long, value_name = "LR,LR,...")]
    lrs: Option<String>,
    /// Override a setting in every variant, after the sweep's own (repeatable); train.lr and
    /// train.min_lr (a tenth of it) are the sweep's.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    sets: Vec<String>,
    /// Training steps of every run (the same as --set train.steps=N).
    #[arg(long)]
    steps: Option<usize>,
    /// Train each variant and learning rate over this many seeds.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=32))]
    seeds: u32,
    /// The engine.
    #[arg(long, value_enum, default_value = "auto")]
    backend: Backend,
    /// Folder for sweep.md, sweep.csv and sweep.png.
    #[arg(long, value_name = "DIR", default_value = "sweep")]
    out: PathBuf,
}

pub fn run(args: SweepArgs) -> ExitCode {
    let lrs = match args.lrs.as_deref().map(sweep::parse_lrs) {
        None => DEFAULT_LRS.to_vec(),
        Some(Ok(lrs)) => lrs,
        Some(Err(error)) => return refuse(error),
    };
    let mut sets = args.sets.clone();
    sets.extend(args.steps.map(|steps| format!("train.steps={steps}")));
    let mut runs = match SWEEP.runs(&RunConfig::default()) {
        Ok(runs) => runs,
        Err(error) => return refuse(error),
    };
    for (_, run) in &mut runs {
        if let Err(error) = apply_sets(run, &sets) {
            return refuse(error);
        }
    }
    let gpu = match engines::context(args.backend) {
        Ok(gpu) => gpu,
        Err(error) => return refuse(error),
    };
    let seeds = args.seeds as usize;
    let mut at_lr = Vec::new();
    for &lr in &lrs {
        match sweep::at_lr(&runs, lr) {
            Ok(runs) => at_lr.push((lr, runs)),
            Err(error) => return refuse(error),
        }
    }
    // The learning rate changes neither data nor model: one round of lanes checks them all.
    if let Err(error) = lanes(&at_lr[0].1, seeds, gpu.as_ref()) {
        return refuse(error);
    }
    println!(
        "{}: {} variants x {} learning rates x {seeds} seeds, each learning rate in lockstep\n  {}",
        SWEEP.name,
        runs.len(),
        lrs.len(),
        SWEEP.source
    );

    let mut cells = Vec::new();
    for (lr, runs) in &at_lr {
        // Opened one learning rate at a time, so memory holds one round of engines.
        let lanes = match lanes(runs, seeds, gpu.as_ref()) {
            Ok(lanes) => lanes,
            Err(error) => {
                eprintln!("error: lr {lr}: {error}");
                return ExitCode::FAILURE;
            }
        };
        println!("lr {}", sweep::lr_text(*lr));
        let mut lockstep = Lockstep::new(lanes);
        train_in_lockstep(&mut lockstep, runs);
        for variant in 0..runs.len() {
            let sessions = (lockstep.lanes.iter())
                .filter(|l| l.variant == variant)
                .map(|l| &l.session);
            cells.push(Cell::new(variant, *lr, sessions));
        }
    }
    let labels: Vec<&str> = runs.iter().map(|(label, _)| *label).collect();
    match write(&labels, &lrs, &cells, &args.out) {
        Ok(table) => {
            println!("{table}wrote {}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: writing {}: {error}", args.out.display());
            ExitCode::FAILURE
        }
    }
}

/// Writes `sweep.md`, `sweep.csv` and `sweep.png`; returns the table.
fn write(labels: &[&str], lrs: &[f64], cells: &[Cell], out: &Path) -> Result<String, String> {
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    let table = sweep::table(labels, lrs, cells);
    let report = format!(
        "# Learning-rate sweep\n\n**Claim** ({}): {}\n\n**Source**: {}\n\n**Watch**: {}\n\n\
         Final validation loss (nats) per variant and learning rate; a learning rate that made \
         the loss non-finite on any seed is marked \"diverged at step N\".\n\n{table}\n\
         ![final loss against learning rate](sweep.png)\n",
        SWEEP.section, SWEEP.claim, SWEEP.source, SWEEP.watch
    );
    std::fs::write(out.join("sweep.md"), report).map_err(|e| e.to_string())?;
    std::fs::write(out.join("sweep.csv"), sweep::csv(labels, cells)).map_err(|e| e.to_string())?;
    crate::report::register_font()?;
    let numbered: Vec<(usize, &str)> = labels.iter().copied().enumerate().collect();
    let (lines, marks) = archlab::lab::sweep::chart(&numbered, cells);
    let axes = Axes {
        title: "Final validation loss against learning rate",
        x: "learning rate",
        y: "cross-entropy (nats)",
        log_y: false,
        log_x: true,
        log_axis: ENGLISH.log_axis,
    };
    let path = out.join("sweep.png");
    charts::draw_points(
        &BitMapBackend::new(&path, (1000, 600)).into_drawing_area(),
        Scale::ONE,
        axes,
        &lines,
        &marks,
        "diverged",
    )?;
    Ok(table)
}
