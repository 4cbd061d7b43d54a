//! The learning-rate sweep in the page (Wortsman et al. 2023, `train::sweep`): the sweep's page
//! variants (pre- and post-norm) at each learning rate, every lane in one lockstep on this
//! engine, so the whole sweep grows together; then the final validation loss against the
//! learning rate (log axis), diverged learning rates marked, and the table `archlab sweep`
//! writes. The chart's data is shared with `archlab sweep`'s sweep.png.

use super::lockstep::{Kind, PageExperiment};
use super::{engine, Lab};
use crate::charts::{self, Line, TopMark};
use crate::train::run::RunError;
use crate::train::sweep::{self, Cell, PAGE_VARIANTS, SWEEP};
use serde_json::{json, Value};

impl Lab {
    /// Starts the sweep at `lrs` in lockstep, replacing any earlier experiment: at each
    /// learning rate each page variant, one seed, at the visitor's scale and run length.
    pub fn start_sweep(&mut self, lrs: &[f64]) -> Result<(), RunError> {
        let runs = self.experiment_runs(&SWEEP)?;
        let page: Vec<(usize, (&'static str, _))> = (runs.into_iter().enumerate())
            .filter(|(_, (label, _))| PAGE_VARIANTS.contains(label))
            .collect();
        let indices: Vec<usize> = page.iter().map(|(variant, _)| *variant).collect();
        let page: Vec<_> = page.into_iter().map(|(_, run)| run).collect();
        let mut every = Vec::new();
        for &lr in lrs {
            every.extend(sweep::at_lr(&page, lr)?);
        }
        // Refused, with the numbers, when the lanes together need over half the budget.
        super::lockstep::seeds_for(&every, &engine::memory_budget(self.gpu.as_ref()))?;
        // Learning rate by learning rate, the page variants in order (see Kind::Sweep).
        let planned = (every.into_iter().enumerate())
            .map(|(i, (_, run))| (indices[i % indices.len()], 0, run))
            .collect();
        let kind = Kind::Sweep { lrs: lrs.to_vec() };
        self.start_lanes(&SWEEP, kind, 1, planned)
    }
}

impl PageExperiment {
    /// The sweep's cells (each page variant at each learning rate; lanes still training give
    /// none of their numbers yet), or None if this is not the sweep.
    pub fn sweep_cells(&self) -> Option<Vec<Cell>> {
        let Kind::Sweep { lrs } = &self.kind else {
            return None;
        };
        let at_lr = self.lockstep.lanes.chunks(PAGE_VARIANTS.len()).zip(lrs);
        let cells = at_lr.flat_map(|(lanes, &lr)| {
            (lanes.iter())
                .map(move |lane| Cell::new(lane.variant, lr, std::iter::once(&lane.session)))
        });
        Some(cells.collect())
    }

    /// The sweep's table as the page shows it: [`sweep::rows`] of its cells; None if this is
    /// not the sweep.
    pub fn sweep_table(&self) -> Option<(Vec<String>, Vec<Vec<String>>)> {
        let (Kind::Sweep { lrs }, Some(cells)) = (&self.kind, self.sweep_cells()) else {
            return None;
        };
        Some(sweep::rows(&self.sweep_labels(), lrs, &cells))
    }

    /// The page variants as (index, label), for [`sweep::rows`] and [`chart`].
    pub fn sweep_labels(&self) -> Vec<(usize, &'static str)> {
        let variants = self.experiment.variants.iter().enumerate();
        (variants.filter(|(_, (label, _))| PAGE_VARIANTS.contains(label)))
            .map(|(index, (label, _))| (index, *label))
            .collect()
    }
}

/// The chart of final validation loss against learning rate: per variant of `labels` (index,
/// label) a line through its learning rates' mean final losses, and for each cell that
/// diverged a mark along the top in its variant's colour (shared by the page and
/// `archlab sweep`).
pub fn chart(labels: &[(usize, &str)], cells: &[Cell]) -> (Vec<Line>, Vec<TopMark>) {
    let lines = (labels.iter().enumerate())
        .map(|(colour, &(variant, label))| Line {
            label: label.to_string(),
            points: (cells.iter())
                .filter(|c| c.variant == variant)
                .filter_map(|c| Some((c.lr, c.mean_val_loss()?)))
                .collect(),
            color: colour,
            faint: false,
            dash: charts::Dash::nth(colour, charts::PALETTE.len()),
        })
        .collect();
    let marks = (cells.iter())
        .filter(|c| c.diverged_at.is_some())
        .filter_map(|c| {
            let colour = labels
                .iter()
                .position(|(variant, _)| *variant == c.variant)?;
            Some(TopMark {
                x: c.lr,
                color: colour,
            })
        })
        .collect();
    (lines, marks)
}

/// The sweep for `window.__archlab`: its learning rates, the table (header and rows, as the
/// page shows it), the points each variant's line has and the diverged marks; Null for an
/// experiment of claims.
pub fn snapshot(experiment: &PageExperiment) -> Value {
    let (Kind::Sweep { lrs }, Some(cells), Some((header, rows))) = (
        &experiment.kind,
        experiment.sweep_cells(),
        experiment.sweep_table(),
    ) else {
        return Value::Null;
    };
    let (lines, marks) = chart(&experiment.sweep_labels(), &cells);
    json!({
        "lrs": lrs,
        "header": header,
        "rows": rows,
        "points": lines.iter().map(|l| l.points.len()).collect::<Vec<_>>(),
        "diverged": marks.len(),
    })
}

// Natively: the CPU engine's steps complete at once.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::lab::page_defaults;
    use crate::lab::tests::{clock, settings};
    use crate::model::NormPosition;
    use crate::train::session::RunStatus;
    use crate::train::sweep::parse_lrs;

    fn train_to_end(lab: &mut Lab) {
        let clock = clock();
        while lab.experiment_training() {
            lab.train(1.0, &clock);
        }
    }

    #[test]
    fn the_sweep_trains_every_variant_at_every_rate_together_and_marks_divergence() {
        let tiny = [("model.d_model", "16"), ("train.steps", "4")];
        let mut lab = Lab::new(page_defaults(), &settings(&tiny), None);
        // 1e30: AdamW moves each weight by about the rate at the first step, so the loss is no
        // longer a finite f32 within two steps.
        let lrs = [1e-3, 1e30];
        lab.start_sweep(&lrs).unwrap();
        let experiment = lab.experiment.as_ref().unwrap();
        let lanes = &experiment.lockstep.lanes;
        let laid_out: Vec<(NormPosition, f32, usize, usize)> = (lanes.iter())
            .map(|l| {
                let run = &l.session.run;
                (
                    run.model.norm_position,
                    run.train.lr,
                    run.model.d_model,
                    run.train.steps,
                )
            })
            .collect();
        let (pre, post) = (NormPosition::Pre, NormPosition::Post);
        assert_eq!(
            laid_out,
            [
                (pre, 1e-3, 16, 4),
                (post, 1e-3, 16, 4),
                (pre, 1e30, 16, 4),
                (post, 1e30, 16, 4)
            ]
        );
        assert_eq!(
            experiment.banner(crate::lab::i18n::Lang::En),
            "experiment lr-sweep: step 0 of 4, 2 variants × 2 learning rates"
        );
        // One round: a step of every lane.
        lab.train(0.0, &clock());
        let lanes = &lab.experiment.as_ref().unwrap().lockstep.lanes;
        assert!(lanes.iter().all(|l| l.session.steps_done() == 1));

        train_to_end(&mut lab);
        let experiment = lab.experiment.as_ref().unwrap();
        let lanes = &experiment.lockstep.lanes;
        assert!(lanes[..2]
            .iter()
            .all(|l| l.session.status == RunStatus::Finished));
        assert!(lanes[2..]
            .iter()
            .all(|l| matches!(l.session.status, RunStatus::Diverged { step } if step < 2)));
        let banner = experiment.banner(crate::lab::i18n::Lang::En);
        assert!(
            banner.contains("finished, 2 variants × 2 learning rates"),
            "{banner}"
        );
        assert!(
            banner.contains("post-norm at lr 1e30 diverged at step"),
            "{banner}"
        );
        assert!(experiment.judged().is_none(), "the sweep has no claims");

        let cells = experiment.sweep_cells().unwrap();
        let labels = experiment.sweep_labels();
        assert_eq!(labels, [(0, "pre-norm"), (1, "post-norm")]);
        let (header, rows) = sweep::rows(&labels, &lrs, &cells);
        assert_eq!(header, ["variant", "lr 1e-3", "lr 1e30"]);
        for (row, label) in rows.iter().zip(["pre-norm", "post-norm"]) {
            assert_eq!(row[0], label);
            let loss: f64 = row[1].parse().unwrap_or_else(|_| panic!("a loss: {row:?}"));
            assert!(loss.is_finite() && loss > 0.0, "{row:?}");
            assert!(row[2].starts_with("diverged at step "), "{row:?}");
        }
        // A point per variant at the rate that trained, a mark per variant at the one that
        // diverged, in the variant's colour.
        let (lines, marks) = chart(&labels, &cells);
        assert!(lines
            .iter()
            .all(|l| l.points.len() == 1 && l.points[0].0 == 1e-3));
        let marked: Vec<(f64, usize)> = marks.iter().map(|m| (m.x, m.color)).collect();
        assert_eq!(marked, [(1e30, 0), (1e30, 1)]);
        assert!(
            experiment.variants().is_empty(),
            "the sweep's numbers are its cells"
        );
        // The page's snapshot of the whole experiment, with the sweep's part.
        let shown = crate::lab::experiment_views::snapshot(&lab);
        assert_eq!(shown["sweep"]["diverged"], 2);
        assert_eq!(shown["sweep"]["points"], json!([1, 1]));
        assert_eq!(shown["rows"], json!([]));
        // The visitor's run waited.
        assert_eq!(lab.runs[0].session.steps_done(), 0);
    }

    #[test]
    fn the_pages_sweep_runs_the_sweeps_length_at_the_cpu_scale() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        lab.start_sweep(sweep::PAGE_LRS).unwrap();
        let experiment = lab.experiment.as_ref().unwrap();
        assert_eq!(experiment.lockstep.lanes.len(), 2 * sweep::PAGE_LRS.len());
        for lane in &experiment.lockstep.lanes {
            let run = &lane.session.run;
            let steps = SWEEP.runs(&page_defaults()).unwrap()[0].1.train.steps;
            assert_eq!(
                (run.model.d_model, run.train.steps),
                (32, steps),
                "the CPU scale"
            );
            assert!(
                !run.model.qk_norm && run.train.z_loss == 0.0,
                "the sweep's base"
            );
        }
        // A refused list changes nothing and is the problem shown, until a start clears it.
        let refused = parse_lrs("1e-3, fast").and_then(|lrs| lab.start_sweep(&lrs));
        assert!(!lab.experiment_started(refused));
        assert_eq!(lab.problem.as_ref().unwrap().field, "lrs");
        assert_eq!(
            lab.experiment.as_ref().unwrap().lockstep.lanes.len(),
            2 * sweep::PAGE_LRS.len(),
            "the sweep stays"
        );
        // An experiment of claims afterwards replaces the sweep, and has no sweep numbers.
        let started = lab.start_experiment("final-norm");
        assert!(lab.experiment_started(started));
        assert!(lab.problem.is_none());
        let experiment = lab.experiment.as_ref().unwrap();
        assert!(experiment.sweep_cells().is_none());
        assert_eq!(snapshot(experiment), Value::Null);
    }
}
