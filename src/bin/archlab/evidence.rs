//! The evidence of `archlab experiment`: per variant the numbers over its seeds, the results
//! table, the verdict on each of the experiment's claims (train::verdict), and the charts
//! (validation loss as the mean over seeds with a min-max band, and the per-step difference of
//! each variant's training loss to the first variant's).

use std::fmt::Write as _;
use std::path::Path;

use archlab::charts::{self, Axes, Line};
use archlab::train::experiments::{Experiment, LossUnit};
use archlab::train::session::{RunStatus, Session};
use archlab::train::verdict::{self, Metric, Samples, RULE};
use plotters::prelude::*;

/// One variant's numbers, one entry per seed.
pub struct Variant {
    pub label: &'static str,
    /// The unit its validation loss is compared in (the experiment's).
    pub loss: LossUnit,
    /// Final validation loss (nats per token) of each seed that finished.
    pub val_loss: Samples,
    /// Final validation bits per character of each seed that finished (text data).
    pub val_bpc: Samples,
    /// Largest attention logit over the layers at the last step, of each seed that finished.
    pub max_logit: Samples,
    /// Mean softmax normaliser log Z at the last step, of each seed that finished.
    pub log_z: Samples,
    /// Seeds whose loss became non-finite.
    pub diverged: usize,
    pub seeds: usize,
    pub parameters: u64,
    pub flops_per_token: f64,
    pub kv_bytes: usize,
    /// Mean measured training tokens/s over the seeds.
    pub tokens_per_second: f64,
    /// Per seed: (step, validation loss in `loss`'s unit) of every evaluation.
    pub val_curves: Vec<Vec<(f64, f64)>>,
    /// Per seed: (step, training loss) of every step.
    pub train_curves: Vec<Vec<(f64, f64)>>,
}

impl Variant {
    /// The numbers of `label`'s sessions, one per seed, its loss compared in `loss`.
    pub fn new<'a>(
        label: &'static str,
        loss: LossUnit,
        sessions: impl Iterator<Item = &'a Session>,
    ) -> Self {
        let sessions: Vec<&Session> = sessions.collect();
        let model = &sessions[0].run.model;
        let finished = |s: &Session| s.status == RunStatus::Finished;
        let last = |unit: LossUnit| {
            let samples = sessions.iter().map(|s| {
                let last = s.history.iter().rev().find_map(|r| unit.of(r));
                last.filter(|_| finished(s)).map(f64::from)
            });
            Samples(samples.collect())
        };
        let max_logit = sessions
            .iter()
            .map(|s| {
                let last = s.history.last().filter(|_| finished(s))?;
                let max = last.max_attention_logit.iter().copied().reduce(f32::max)?;
                Some(f64::from(max))
            })
            .collect();
        let log_z = sessions
            .iter()
            .map(|s| {
                let last = s.history.last().filter(|_| finished(s))?;
                Some(f64::from(last.log_z))
            })
            .collect();
        let tokens_per_second = sessions
            .iter()
            .map(|s| s.mean_tokens_per_second())
            .sum::<f64>()
            / sessions.len() as f64;
        Self {
            label,
            loss,
            val_loss: last(LossUnit::NatsPerToken),
            val_bpc: last(LossUnit::BitsPerCharacter),
            max_logit: Samples(max_logit),
            log_z: Samples(log_z),
            diverged: (sessions.iter())
                .filter(|s| matches!(s.status, RunStatus::Diverged { .. }))
                .count(),
            seeds: sessions.len(),
            parameters: model.param_count().total(),
            flops_per_token: model.flops_per_token(),
            kv_bytes: model.kv_cache_bytes_per_token(),
            tokens_per_second,
            val_curves: (sessions.iter())
                .map(|s| {
                    (s.history.iter())
                        .filter_map(|r| loss.of(r).map(|v| (r.step as f64, f64::from(v))))
                        .collect()
                })
                .collect(),
            train_curves: (sessions.iter())
                .map(|s| {
                    (s.history.iter())
                        .map(|r| (r.step as f64, f64::from(r.loss)))
                        .collect()
                })
                .collect(),
        }
    }

    /// Its samples of `metric`: measured per seed, or the configuration's number on every seed.
    pub fn samples(&self, metric: Metric) -> Samples {
        let constant = |v: f64| Samples(vec![Some(v); self.seeds]);
        match metric {
            Metric::ValLoss => match self.loss {
                LossUnit::NatsPerToken => self.val_loss.clone(),
                LossUnit::BitsPerCharacter => self.val_bpc.clone(),
            },
            Metric::MaxAttentionLogit => self.max_logit.clone(),
            Metric::Parameters => constant(self.parameters as f64),
            Metric::FlopsPerToken => constant(self.flops_per_token),
            Metric::KvBytes => constant(self.kv_bytes as f64),
        }
    }
}

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
    for claim in experiment.claims {
        let [first, second] = claim.labels().map(|label| {
            variants
                .iter()
                .find(|v| v.label == label)
                .expect("claims name variants (a unit test checks)")
        });
        let metric = claim.metric();
        let (a, b) = (first.samples(metric), second.samples(metric));
        let verdict = verdict::verdict(claim, &a, &b);
        let unit = match metric {
            Metric::ValLoss => format!(" {}", first.loss.name()),
            _ => String::new(),
        };
        let numbers = match (a.mean(), b.mean(), a.spread(), b.spread()) {
            // Numbers of the configuration are whole (bytes, parameters, FLOPs) and exact.
            (Some(ma), Some(mb), _, _) if metric.from_configuration() => format!(
                "{} {ma:.0} vs {} {mb:.0}: difference {:.0}, no spread (from the configuration)",
                first.label,
                second.label,
                mb - ma
            ),
            (Some(ma), Some(mb), Some(sa), Some(sb)) => format!(
                "{} {ma:.4} vs {} {mb:.4}{unit}: difference {:.4}, largest spread {:.4}",
                first.label,
                second.label,
                mb - ma,
                sa.max(sb)
            ),
            _ => "no finite values to compare".to_string(),
        };
        writeln!(
            lines,
            "- Claim: {claim}. Verdict: **{}** ({numbers}; {} seeds).",
            verdict.word(),
            first.seeds
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
    std::fs::create_dir_all(out).map_err(|e| e.to_string())?;
    crate::report::register_font()?;
    draw(
        &out.join("loss.png"),
        &format!(
            "{}: validation loss (mean, min-max over seeds)",
            experiment.name
        ),
        &format!("validation loss ({})", experiment.loss.name()),
        true,
        &band_lines(variants),
    )?;
    draw(
        &out.join("difference.png"),
        &format!(
            "{}: training loss minus {}'s, per step (mean over seeds)",
            experiment.name, variants[0].label
        ),
        "difference (nats)",
        false,
        &difference_lines(variants),
    )?;
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

fn draw(path: &Path, title: &str, y: &str, log_y: bool, lines: &[Line]) -> Result<(), String> {
    let axes = Axes {
        title,
        x: "step",
        y,
        log_y,
        log_x: false,
    };
    charts::draw_lines(
        &BitMapBackend::new(path, (1000, 600)).into_drawing_area(),
        axes,
        lines,
    )
}

/// Per step, the mean and min and max of `curves` over the seeds that have that step.
fn mean_min_max(curves: &[Vec<(f64, f64)>]) -> Vec<(f64, f64, f64, f64)> {
    let longest = curves.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .filter_map(|i| {
            let points: Vec<(f64, f64)> = curves.iter().filter_map(|c| c.get(i).copied()).collect();
            let x = points.first()?.0;
            let ys: Vec<f64> = points
                .iter()
                .map(|p| p.1)
                .filter(|y| y.is_finite())
                .collect();
            let mean = ys.iter().sum::<f64>() / ys.len() as f64;
            let min = ys.iter().copied().reduce(f64::min)?;
            let max = ys.iter().copied().reduce(f64::max)?;
            Some((x, mean, min, max))
        })
        .collect()
}

/// Each variant's mean validation curve, with its min and max as faint unlabelled lines.
fn band_lines(variants: &[Variant]) -> Vec<Line> {
    let mut lines = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        let stats = mean_min_max(&v.val_curves);
        let dash = charts::Dash::nth(i, charts::PALETTE.len());
        let line = |label: String, faint: bool, pick: fn(&(f64, f64, f64, f64)) -> f64| Line {
            label,
            points: stats.iter().map(|s| (s.0, pick(s))).collect(),
            color: i,
            faint,
            dash,
        };
        lines.push(line(v.label.to_string(), false, |s| s.1));
        if v.seeds > 1 {
            lines.push(line(String::new(), true, |s| s.2));
            lines.push(line(String::new(), true, |s| s.3));
        }
    }
    lines
}

/// Each variant's mean training loss minus the first variant's, step by step.
fn difference_lines(variants: &[Variant]) -> Vec<Line> {
    let reference = mean_min_max(&variants[0].train_curves);
    (variants.iter().enumerate())
        .map(|(i, v)| Line {
            label: v.label.to_string(),
            points: (mean_min_max(&v.train_curves).iter().zip(&reference))
                .map(|(a, r)| (a.0, a.1 - r.1))
                .collect(),
            color: i,
            faint: false,
            dash: charts::Dash::nth(i, charts::PALETTE.len()),
        })
        .collect()
}
