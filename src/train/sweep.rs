//! The learning-rate sweep of Wortsman et al. 2023 ("Small-scale proxies for large-scale
//! Transformer training instabilities"): each variant trained at each learning rate, its final
//! validation loss against the learning rate, divergence marked. The table of variants lives
//! here (like the experiments), so the command line and the page read one list; this file also
//! turns the finished sessions into the results table and CSV.

use std::fmt::Write as _;

use super::experiments::{Experiment, LossUnit};
use super::run::{RunConfig, RunError};
use super::session::{RunStatus, Session};

/// The sweep's variants as an experiment without claims (the chart is the evidence): pre-
/// against post-norm, each with and without QK-norm and with and without z-loss (PaLM's
/// coefficient 1e-4). The base turns both interventions off, so each variant differs in
/// exactly what it names; `archlab sweep` sets `train.lr` over each.
pub const SWEEP: Experiment = Experiment {
    name: "lr-sweep",
    section: "Stability",
    claim: "QK-norm and z-loss widen the range of learning rates that train well; post-norm \
            is the most sensitive to a large learning rate.",
    source: "Wortsman et al. 2023, Small-scale proxies for large-scale Transformer training \
             instabilities",
    watch: "Final loss against learning rate: where each curve turns up or diverges.",
    base: &[
        ("train.steps", "300"),
        ("train.eval_interval", "50"),
        ("model.qk_norm", "false"),
        ("train.z_loss", "0"),
    ],
    variants: &[
        ("pre-norm", &[("model.norm_position", "pre")]),
        ("post-norm", &[("model.norm_position", "post")]),
        (
            "pre-norm + QK-norm",
            &[("model.norm_position", "pre"), ("model.qk_norm", "true")],
        ),
        (
            "post-norm + QK-norm",
            &[("model.norm_position", "post"), ("model.qk_norm", "true")],
        ),
        (
            "pre-norm + z-loss",
            &[("model.norm_position", "pre"), ("train.z_loss", "1e-4")],
        ),
        (
            "post-norm + z-loss",
            &[("model.norm_position", "post"), ("train.z_loss", "1e-4")],
        ),
    ],
    claims: &[],
    loss: LossUnit::NatsPerToken,
};

/// Learning rates swept by default: 1e-4 to 3e-1, about 5x apart (log-spaced).
pub const DEFAULT_LRS: [f64; 6] = [1e-4, 5e-4, 2.5e-3, 1.2e-2, 6e-2, 3e-1];

/// The page's smaller sweep: the variants it trains (the paper's first question, pre- against
/// post-norm), one seed, at the default rates but the smallest (at 300 steps 1e-4 barely
/// moves any model), for the sweep's own 300 steps: 10 lanes, 25 s in headless Chromium on
/// the CPU engine at its scale on an idle 2-core machine.
pub const PAGE_VARIANTS: [&str; 2] = ["pre-norm", "post-norm"];
pub const PAGE_LRS: &[f64] = DEFAULT_LRS.split_at(1).1;

/// The learning rates of a list such as `1e-3, 0.01` (`archlab sweep --lrs`, the page's
/// field): each a finite number above 0, none twice.
pub fn parse_lrs(text: &str) -> Result<Vec<f64>, RunError> {
    let refused = |reason: String| RunError::new("lrs", reason);
    let mut lrs = Vec::new();
    for part in text.split(',').map(str::trim) {
        let lr: f64 = (part.parse()).map_err(|_| refused(format!("{part:?} is not a number")))?;
        if !(lr.is_finite() && lr > 0.0) {
            return Err(refused(format!("{part:?} is not a learning rate above 0")));
        }
        if lrs.contains(&lr) {
            return Err(refused(format!("{part:?} is given twice")));
        }
        lrs.push(lr);
    }
    Ok(lrs)
}

/// `runs` at learning rate `lr`, the schedule's floor (`train.min_lr`) a tenth of it as in the
/// defaults.
pub fn at_lr(
    runs: &[(&'static str, RunConfig)],
    lr: f64,
) -> Result<Vec<(&'static str, RunConfig)>, RunError> {
    let mut runs = runs.to_vec();
    for (_, run) in &mut runs {
        // The floor first, so that it never stands above the new rate.
        run.train.min_lr = 0.0;
        run.set("train.lr", &lr.to_string())?;
        run.set("train.min_lr", &(lr / 10.0).to_string())?;
    }
    Ok(runs)
}

/// One variant at one learning rate, over its seeds.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Index into the sweep's variants.
    pub variant: usize,
    pub lr: f64,
    /// Final validation loss of each seed that finished.
    pub val_losses: Vec<f64>,
    /// The earliest step at which a seed diverged (a non-finite loss: `RunStatus::Diverged`).
    pub diverged_at: Option<usize>,
    /// Seeds that diverged.
    pub diverged_seeds: usize,
    pub seeds: usize,
}

impl Cell {
    /// The cell of `sessions`, the seeds of one variant at one learning rate.
    pub fn new<'a>(variant: usize, lr: f64, sessions: impl Iterator<Item = &'a Session>) -> Self {
        let mut cell = Cell {
            variant,
            lr,
            val_losses: Vec::new(),
            diverged_at: None,
            diverged_seeds: 0,
            seeds: 0,
        };
        for session in sessions {
            cell.seeds += 1;
            match session.status {
                RunStatus::Diverged { step } => {
                    cell.diverged_seeds += 1;
                    cell.diverged_at = Some(cell.diverged_at.map_or(step, |s| s.min(step)));
                }
                RunStatus::Finished => {
                    let last = session.last_val_loss().map(f64::from);
                    cell.val_losses.extend(last.filter(|l| l.is_finite()));
                }
                RunStatus::Training | RunStatus::Stopped { .. } | RunStatus::Halted { .. } => {}
            }
        }
        cell
    }

    /// Mean final validation loss over the seeds that finished; None if a seed diverged (a
    /// learning rate that diverges on any seed is not stable) or none finished.
    pub fn mean_val_loss(&self) -> Option<f64> {
        let finished = self.diverged_at.is_none() && !self.val_losses.is_empty();
        finished.then(|| self.val_losses.iter().sum::<f64>() / self.val_losses.len() as f64)
    }

    /// The table's entry: the mean loss, "diverged at step N" (with how many seeds, when more
    /// than one ran), or "-" when no seed finished (an engine error).
    pub fn text(&self) -> String {
        match (self.diverged_at, self.mean_val_loss()) {
            (Some(step), _) if self.seeds > 1 => format!(
                "diverged at step {step} ({}/{} seeds)",
                self.diverged_seeds, self.seeds
            ),
            (Some(step), _) => format!("diverged at step {step}"),
            (None, Some(loss)) => format!("{loss:.4}"),
            (None, None) => "-".to_string(),
        }
    }
}

/// A learning rate as the table heads its column: `1e-4`, `2.5e-3`.
pub fn lr_text(lr: f64) -> String {
    format!("{lr:e}")
}

/// The results table (the markdown's and the page's): the header ("variant", then "lr 1e-3"
/// per learning rate) and one row per variant of `labels` (indices of the cells' `variant`),
/// each entry [`Cell::text`] ("-" where `cells` has none).
pub fn rows(
    labels: &[(usize, &str)],
    lrs: &[f64],
    cells: &[Cell],
) -> (Vec<String>, Vec<Vec<String>>) {
    let header = std::iter::once("variant".to_string())
        .chain(lrs.iter().map(|&lr| format!("lr {}", lr_text(lr))))
        .collect();
    let rows = (labels.iter())
        .map(|&(variant, label)| {
            let entries = lrs.iter().map(|&lr| {
                let cell = cells.iter().find(|c| c.variant == variant && c.lr == lr);
                cell.map_or("-".to_string(), Cell::text)
            });
            std::iter::once(label.to_string()).chain(entries).collect()
        })
        .collect();
    (header, rows)
}

/// The markdown table of [`rows`], for every variant of `labels` in order.
pub fn table(labels: &[&str], lrs: &[f64], cells: &[Cell]) -> String {
    let numbered: Vec<(usize, &str)> = labels.iter().copied().enumerate().collect();
    let (header, rows) = rows(&numbered, lrs, cells);
    let line = |entries: &[String]| format!("| {} |\n", entries.join(" | "));
    let mut out = line(&header);
    out.push_str("|---|");
    out.push_str(&"---|".repeat(lrs.len()));
    out.push('\n');
    for row in &rows {
        out.push_str(&line(row));
    }
    out
}

/// `sweep.csv`: one row per cell: variant, lr, mean final validation loss (empty if it
/// diverged), the step it diverged at (empty if it did not), diverged seeds, seeds.
pub fn csv(labels: &[&str], cells: &[Cell]) -> String {
    let mut out = String::from("variant,lr,final_val_loss,diverged_at_step,diverged_seeds,seeds\n");
    let optional = |v: Option<String>| v.unwrap_or_default();
    for cell in cells {
        writeln!(
            out,
            "{},{},{},{},{},{}",
            labels[cell.variant],
            cell.lr,
            optional(cell.mean_val_loss().map(|l| l.to_string())),
            optional(cell.diverged_at.map(|s| s.to_string())),
            cell.diverged_seeds,
            cell.seeds
        )
        .expect("writing to a String");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::NormPosition;
    use crate::train::run::RunConfig;

    fn cell(variant: usize, lr: f64, val_losses: &[f64], diverged_at: &[usize]) -> Cell {
        Cell {
            variant,
            lr,
            val_losses: val_losses.to_vec(),
            diverged_at: diverged_at.iter().copied().min(),
            diverged_seeds: diverged_at.len(),
            seeds: val_losses.len() + diverged_at.len(),
        }
    }

    #[test]
    fn table_and_csv_mark_divergence_and_average_the_seeds() {
        let labels = ["pre", "post"];
        let lrs = [1e-3, 1e-1];
        let cells = [
            cell(0, 1e-3, &[2.0, 2.5], &[]),
            cell(0, 1e-1, &[1.5], &[7]),
            cell(1, 1e-3, &[3.0], &[]),
            cell(1, 1e-1, &[], &[12]),
        ];
        assert_eq!(
            table(&labels, &lrs, &cells),
            "| variant | lr 1e-3 | lr 1e-1 |\n\
             |---|---|---|\n\
             | pre | 2.2500 | diverged at step 7 (1/2 seeds) |\n\
             | post | 3.0000 | diverged at step 12 |\n"
        );
        assert_eq!(
            csv(&labels, &cells),
            "variant,lr,final_val_loss,diverged_at_step,diverged_seeds,seeds\n\
             pre,0.001,2.25,,0,2\n\
             pre,0.1,,7,1,2\n\
             post,0.001,3,,0,1\n\
             post,0.1,,12,1,1\n"
        );
        // A cell with no finished and no diverged seed (an engine error) shows as missing.
        assert_eq!(cell(0, 1.0, &[], &[]).text(), "-");
        assert_eq!(lr_text(2.5e-3), "2.5e-3");
    }

    #[test]
    fn learning_rates_parse_or_are_refused_with_the_reason() {
        assert_eq!(parse_lrs("1e-3, 0.01").unwrap(), [1e-3, 0.01]);
        let reason = |text: &str| {
            let error = parse_lrs(text).unwrap_err();
            assert_eq!(error.field, "lrs");
            error.reason
        };
        assert!(
            reason("1e-3, x").contains("\"x\" is not a number"),
            "named trimmed"
        );
        assert!(reason("0").contains("above 0"));
        assert!(reason("-1").contains("above 0"));
        assert!(reason("inf").contains("above 0"));
        assert!(reason("1,1").contains("twice"));
        assert!(reason("").contains("not a number"));
    }

    #[test]
    fn at_a_learning_rate_the_floor_follows_it_and_nothing_else_changes() {
        let runs = SWEEP.runs(&RunConfig::default()).unwrap();
        for lr in [1e-4, 1e3] {
            let moved = at_lr(&runs, lr).unwrap();
            for ((label, run), (same, before)) in moved.iter().zip(&runs) {
                assert_eq!(label, same);
                assert_eq!(
                    (run.train.lr, run.train.min_lr),
                    (lr as f32, lr as f32 / 10.0)
                );
                let mut expected = before.clone();
                (expected.train.lr, expected.train.min_lr) = (run.train.lr, run.train.min_lr);
                assert_eq!(run, &expected);
            }
        }
    }

    #[test]
    fn the_pages_sweep_is_part_of_the_command_lines() {
        let labels: Vec<&str> = SWEEP.variants.iter().map(|v| v.0).collect();
        assert!(PAGE_VARIANTS.iter().all(|v| labels.contains(v)));
        assert!(PAGE_LRS.len() >= 4 && PAGE_LRS.iter().all(|lr| DEFAULT_LRS.contains(lr)));
    }

    #[test]
    fn variants_differ_exactly_in_what_they_name() {
        let runs = SWEEP.runs(&RunConfig::default()).unwrap();
        let (pre, post) = (&runs[0].1, &runs[1].1);
        assert_eq!(pre.model.norm_position, NormPosition::Pre);
        assert_eq!(post.model.norm_position, NormPosition::Post);
        assert!(!pre.model.qk_norm && pre.train.z_loss == 0.0);
        for (label, run) in &runs[2..] {
            let like = if run.model.norm_position == NormPosition::Pre {
                pre
            } else {
                post
            };
            let mut expected = like.clone();
            match *label {
                "pre-norm + QK-norm" | "post-norm + QK-norm" => expected.model.qk_norm = true,
                "pre-norm + z-loss" | "post-norm + z-loss" => expected.train.z_loss = 1e-4,
                other => panic!("unexpected variant {other}"),
            }
            assert_eq!(run, &expected, "{label}");
        }
    }
}
