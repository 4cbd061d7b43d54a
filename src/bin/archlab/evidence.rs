//! The report of `archlab experiment`: the results table and the verdict on each of the
//! experiment's claims (the numbers from train::evidence), and the charts
//! (validation loss as the mean over seeds with a min-max band, and the per-step difference of
//! each variant's training loss to the first variant's); `archlab compare`'s report, the same
//! without claims.

use std::fmt::Write as _;
use std::path::Path;

use archlab::charts::{self, Axes, Band, Line, Scale};
use archlab::lab::experiment_views::{band_chart, difference_lines};
use archlab::lab::page_text::ENGLISH;
use archlab::train::evidence;
pub use archlab::train::evidence::Variant;
use archlab::train::experiments::Experiment;
use archlab::train::verdict::{Metric, RULE};
use plotters::prelude::*;

/// The results table (markdown): the final validation loss in nats per token and in bits per
/// character, its min-max over seeds in the unit the experiment compares.
pub fn table(variants: &[Variant]) -> String {
    let unit = variants.first().map_or("", |v| v.loss.name());
    let mut table = format!(
        "| variant | final val loss, nats/token (mean) | bits/character (mean) | \
         min-max over seeds, {unit} | diverged | parameters | FLOPs/token | KV cache B/token | \
         tokens/s | largest attention logit | log Z |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let number = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
    for v in variants {
        let range = v
            .samples(Metric::ValLoss)
            .range()
            .map_or("-".to_string(), |(lo, hi)| format!("{lo:.4}-{hi:.4}"));
        writeln!(
            table,
            "| {} | {} | {} | {range} | {}/{} | {} | {:.3e} | {} | {:.0} | {} | {} |",
            v.label,
            number(v.val_loss.mean()),
            number(v.val_bpc.mean()),
            v.diverged,
            v.seeds,
            v.parameters,
            v.flops_per_token,
            v.kv_bytes,
            v.tokens_per_second,
            number(v.max_logit.mean()),
            number(v.log_z.mean()),
        )
        .expect("writing to a String");
    }
    table
}

/// One line per claim: the claim, the verdict and the numbers it came from.
pub fn verdicts(experiment: &Experiment, variants: &[Variant]) -> String {
    let mut lines = String::new();
    for judged in evidence::judge(experiment, variants) {
        writeln!(
            lines,
            "- Claim: {}. Verdict: **{}** ({}; {} seeds).",
            judged.claim,
            judged.verdict.word(),
            judged.numbers,
            variants.first().map_or(0, |v| v.seeds)
        )
        .expect("writing to a String");
    }
    lines
}

/// Writes `loss.png`, `difference.png` and `report.md`; returns the table and verdicts for the
/// terminal.
pub fn write_report(
    experiment: &Experiment,
    variants: &[Variant],
    out: &Path,
) -> Result<String, String> {
    write_charts(experiment.name, variants, out)?;
    let table = table(variants);
    let verdicts = verdicts(experiment, variants);
    let seeds = variants.first().map_or(0, |v| v.seeds);
    let report = format!(
        "# {}\n\n**Claim** ({}): {}\n\n**Source**: {}\n\n**Watch**: {}\n\n\
         The variants trained in lockstep (one step each in turn on one engine), each over \
         {seeds} seeds: the same batches and the same initial values in every tensor they share \
         at each seed.\n\n{table}\n## Verdict\n\n{verdicts}\n\
         Rule: {RULE}\n\n![validation loss](loss.png)\n\n![difference](difference.png)\n\n\
         Each variant's folder has its metrics, charts and checkpoint per seed.\n",
        experiment.name, experiment.section, experiment.claim, experiment.source, experiment.watch
    );
    std::fs::write(out.join("report.md"), report).map_err(|e| e.to_string())?;
    Ok(format!("{table}\n{verdicts}"))
}

/// `archlab compare`'s `loss.png`, `difference.png` and `report.md`: the configurations'
/// table and charts, without a verdict (they make no claim); returns the table for the
/// terminal.
pub fn write_comparison(variants: &[Variant], out: &Path) -> Result<String, String> {
    write_charts("compare", variants, out)?;
    let table = table(variants);
    let seeds = variants.first().map_or(0, |v| v.seeds);
    let first = variants.first().map_or("", |v| v.label.as_str());
    let report = format!(
        "# Compared in lockstep\n\n\
         The configurations trained in lockstep (one step each in turn on one engine), each over \
         {seeds} seeds at the first one's seed: the same batches wherever their data settings \
         agree and the same initial values in every tensor they share, at each seed. They make no \
         claim, so there is no verdict: the numbers are the comparison.\n\n{table}\n\
         ![validation loss](loss.png)\n\n![difference to {first}](difference.png)\n\n\
         Each configuration's folder has its metrics, charts and checkpoint per seed.\n"
    );
    std::fs::write(out.join("report.md"), report).map_err(|e| e.to_string())?;
    Ok(table)
}

/// The validation loss chart (mean over seeds, min-max band) and the difference chart (each
/// variant's training loss minus the first's) of `variants`, titled with `name`.
fn write_charts(name: &str, variants: &[Variant], out: &Path) -> Result<(), String> {
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    crate::report::register_font()?;
    let unit = variants.first().map_or("", |v| v.loss.name());
    draw(
        &out.join("loss.png"),
        &format!("{name}: validation loss (mean, min-max over seeds)"),
        &format!("validation loss ({unit})"),
        true,
        band_chart(variants),
    )?;
    draw(
        &out.join("difference.png"),
        &format!(
            "{name}: training loss minus {}'s, per step (mean over seeds)",
            variants[0].label
        ),
        "difference (nats)",
        false,
        (Vec::new(), difference_lines(variants)),
    )
}

fn draw(
    path: &Path,
    title: &str,
    y: &str,
    log_y: bool,
    (bands, lines): (Vec<Band>, Vec<Line>),
) -> Result<(), String> {
    let axes = Axes {
        title,
        x: "step",
        y,
        log_y,
        log_x: false,
        log_axis: ENGLISH.log_axis,
    };
    let area = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
    charts::draw_bands(&area, Scale::ONE, axes, &bands, &lines)
}
