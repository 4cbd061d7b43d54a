//! `archlab sweep`: the learning-rate sweep of Wortsman et al. 2023. At each learning rate the
//! variants of `train::sweep::SWEEP` (and their seeds) train in lockstep; the final validation
//! loss of each goes into `sweep.md`, `sweep.csv` and `sweep.png` (loss against learning rate
//! on a log axis, a diverged learning rate as a triangle at the top).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use archlab::charts::{self, Axes, Line, TopMark};
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

/// The learning rates of `--lrs`: each a finite number above 0, none twice.
fn parse_lrs(text: &str) -> Result<Vec<f64>, String> {
    let mut lrs = Vec::new();
    for part in text.split(',') {
        let lr: f64 = part
            .trim()
            .parse()
            .map_err(|_| format!("lrs: {part:?} is not a number"))?;
        if !(lr.is_finite() && lr > 0.0) {
            return Err(format!("lrs: {part:?} is not a learning rate above 0"));
        }
        if lrs.contains(&lr) {
            return Err(format!("lrs: {part:?} is given twice"));
        }
        lrs.push(lr);
    }
    Ok(lrs)
}

pub fn run(args: SweepArgs) -> ExitCode {
    let lrs = match args.lrs.as_deref().map(parse_lrs) {
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
        let mut runs = runs.clone();
        for (_, run) in &mut runs {
            // The schedule's floor follows the rate, a tenth of it as in the defaults.
            run.train.min_lr = 0.0;
            let set = run.set("train.lr", &lr.to_string());
            if let Err(error) = set.and_then(|()| run.set("train.min_lr", &(lr / 10.0).to_string()))
            {
                return refuse(error);
            }
        }
        at_lr.push((lr, runs));
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
    let lines: Vec<Line> = (labels.iter().enumerate())
        .map(|(variant, label)| Line {
            label: label.to_string(),
            points: (cells.iter())
                .filter(|c| c.variant == variant)
                .filter_map(|c| Some((c.lr, c.mean_val_loss()?)))
                .collect(),
            color: variant,
            faint: false,
            dash: charts::Dash::nth(variant, charts::PALETTE.len()),
        })
        .collect();
    let marks: Vec<TopMark> = (cells.iter())
        .filter(|c| c.diverged_at.is_some())
        .map(|c| TopMark {
            x: c.lr,
            color: c.variant,
        })
        .collect();
    let axes = Axes {
        title: "Final validation loss against learning rate",
        x: "learning rate",
        y: "cross-entropy (nats)",
        log_y: false,
        log_x: true,
    };
    let path = out.join("sweep.png");
    charts::draw_points(
        &BitMapBackend::new(&path, (1000, 600)).into_drawing_area(),
        axes,
        &lines,
        &marks,
        "diverged",
    )?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learning_rates_parse_or_are_refused_with_the_reason() {
        assert_eq!(parse_lrs("1e-3, 0.01").unwrap(), [1e-3, 0.01]);
        assert!(parse_lrs("1e-3,x")
            .unwrap_err()
            .contains("\"x\" is not a number"));
        assert!(parse_lrs("0").unwrap_err().contains("above 0"));
        assert!(parse_lrs("-1").unwrap_err().contains("above 0"));
        assert!(parse_lrs("inf").unwrap_err().contains("above 0"));
        assert!(parse_lrs("1,1").unwrap_err().contains("twice"));
        assert!(parse_lrs("").unwrap_err().contains("not a number"));
    }
}
