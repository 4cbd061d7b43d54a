//! `archlab experiment`: a lecture claim trained as its variants side by side, with an overlaid
//! loss chart and a report that puts the claim next to the numbers.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use archlab::charts::{self, Axes, Line};
use archlab::train::experiments::{Experiment, EXPERIMENTS};
use archlab::train::run::RunConfig;
use archlab::train::session::{RunStatus, Session};
use plotters::prelude::*;

use crate::engines::{self, Backend};
use crate::train::{apply_sets, refuse, save_run, train_to_end};

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
    /// The engine.
    #[arg(long, value_enum, default_value = "auto")]
    backend: Backend,
    /// Folder for the report, the overlaid chart and one run folder per variant (default:
    /// experiments/<name>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

/// One variant's outcome, for the report's table.
struct Outcome {
    label: &'static str,
    status: RunStatus,
    loss: Option<f32>,
    val_loss: Option<f32>,
    parameters: usize,
    kv_bytes: usize,
    tokens_per_second: f64,
    curve: Vec<(f64, f64)>,
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
    // Validate every variant's data and model before training any of them.
    let mut prepared = Vec::new();
    for (label, run) in &mut runs {
        if let Err(error) = apply_sets(run, &args.sets) {
            return refuse(error);
        }
        let data = match run.build_data(None) {
            Ok(data) => data,
            Err(error) => return refuse(format!("{label}: {error}")),
        };
        let engine = match engines::open(
            args.backend,
            &run.model,
            run.train.seed,
            (run.train.batch_size, run.train.seq_len),
        ) {
            Ok(engine) => engine,
            Err(error) => return refuse(format!("{label}: {error}")),
        };
        prepared.push((*label, Session::new(run.clone(), data), engine));
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("experiments").join(experiment.name));
    println!(
        "{}: {}\n  {}",
        experiment.name, experiment.claim, experiment.source
    );

    let mut outcomes = Vec::new();
    for (label, mut session, mut engine) in prepared {
        println!("- {label}");
        train_to_end(&mut session, engine.as_mut());
        let folder = out.join(slug(label));
        match save_run(&session, engine.as_mut(), &folder) {
            Ok(summary) => println!("  {}", summary.lines().last().unwrap_or_default()),
            Err(error) => {
                eprintln!("error: writing {}: {error}", folder.display());
                return ExitCode::FAILURE;
            }
        }
        outcomes.push(outcome(label, &session));
    }
    match write_report(experiment, &outcomes, &out) {
        Ok(table) => {
            println!("{table}wrote {}", out.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: writing {}: {error}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn outcome(label: &'static str, session: &Session) -> Outcome {
    let history = &session.history;
    let model = &session.run.model;
    Outcome {
        label,
        status: session.status,
        loss: history.last().map(|r| r.loss),
        val_loss: session.last_val_loss(),
        parameters: model.param_count().total(),
        kv_bytes: model.kv_cache_bytes_per_token(),
        tokens_per_second: session.mean_tokens_per_second(),
        curve: history
            .iter()
            .filter_map(|r| r.val_loss.map(|v| (r.step as f64, f64::from(v))))
            .collect(),
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

/// Writes `loss.png` (validation curves overlaid) and `report.md`; returns the table.
fn write_report(
    experiment: &Experiment,
    outcomes: &[Outcome],
    out: &std::path::Path,
) -> Result<String, String> {
    let lines: Vec<Line> = outcomes
        .iter()
        .enumerate()
        .map(|(i, o)| Line {
            label: o.label.to_string(),
            points: o.curve.clone(),
            color: i,
            faint: false,
            dash: charts::Dash::nth(i, charts::PALETTE.len()),
        })
        .collect();
    crate::report::register_font()?;
    let title = format!("{}: validation loss", experiment.name);
    let axes = Axes {
        title: &title,
        x: "step",
        y: "cross-entropy (nats)",
        log_y: true,
    };
    let path = out.join("loss.png");
    charts::draw_lines(
        &BitMapBackend::new(&path, (1000, 600)).into_drawing_area(),
        axes,
        &lines,
    )?;

    let number = |v: Option<f32>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    let mut table = String::from(
        "| variant | status | train loss | val loss | parameters | KV cache B/token | tokens/s |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for o in outcomes {
        let status = match o.status {
            RunStatus::Diverged { step } => format!("diverged at step {step}"),
            RunStatus::Stopped { step } => format!("stopped by an engine error at step {step}"),
            RunStatus::Finished => "finished".into(),
            RunStatus::Training => "stopped".into(),
        };
        writeln!(
            table,
            "| {} | {status} | {} | {} | {} | {} | {:.0} |",
            o.label,
            number(o.loss),
            number(o.val_loss),
            o.parameters,
            o.kv_bytes,
            o.tokens_per_second
        )
        .expect("writing to a String");
    }
    let report = format!(
        "# {}\n\n**Claim** ({}): {}\n\n**Source**: {}\n\n**Watch**: {}\n\n{table}\n![validation loss](loss.png)\n\n\
         Each variant's folder has its metrics, charts and checkpoint.\n",
        experiment.name, experiment.section, experiment.claim, experiment.source, experiment.watch
    );
    std::fs::write(out.join("report.md"), report).map_err(|e| e.to_string())?;
    Ok(table)
}
