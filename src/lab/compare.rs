//! The visitor's marked runs compared in lockstep: the runs list marks runs, and "Compare in
//! lockstep" trains their configurations again from step 0 as lanes of one lockstep, as a
//! lecture experiment's variants train (`lab::lockstep`): every lane at the first marked run's
//! seed (`train::lockstep::comparable`), so the same batches wherever the data settings agree
//! and equal initial values in every tensor they share; over seeds where the memory allows
//! (`seeds_for`), with the experiment's charts and results table. Marked runs make no claim,
//! so there is no verdict.

use super::i18n::Lang;
use super::lockstep::{seeds_for, Kind};
use super::{engine, Lab};
use crate::train::experiments::{Experiment, LossUnit};
use crate::train::lockstep;
use crate::train::run::{RunConfig, RunError};

/// What the experiment panel says for marked runs: an experiment whose variants are the runs
/// (`Kind::Marked` names them) and which has no claims.
pub const MARKED: Experiment = Experiment {
    name: "marked runs",
    section: "Your runs",
    claim: "Your marked runs train again from step 0, side by side in lockstep: the same \
            batches and equal initial values in every tensor they share, at each seed.",
    source: "your runs",
    watch: "Each run's validation loss (mean and min–max over seeds) and its training loss \
            minus the first run's, step by step: what differs is the configuration.",
    base: &[],
    variants: &[],
    claims: &[],
    loss: LossUnit::NatsPerToken,
};

impl Lab {
    /// Marks run `id` to compare, or unmarks it.
    pub fn toggle_marked(&mut self, id: usize) {
        if let Some(run) = self.runs.iter_mut().find(|r| r.id == id) {
            run.marked = !run.marked;
        }
    }

    /// The marked runs' ids, oldest first.
    pub fn marked(&self) -> Vec<usize> {
        (self.runs.iter().filter(|r| r.marked))
            .map(|r| r.id)
            .collect()
    }

    /// Starts the marked runs' configurations (as the visitor set them) in lockstep, replacing
    /// any earlier experiment; refused, naming why, for fewer than two runs, two the same, or
    /// lanes over half the engine's memory.
    pub fn start_compare(&mut self) -> Result<(), RunError> {
        let marked = self.runs.iter().filter(|r| r.marked);
        let (ids, mut runs): (Vec<usize>, Vec<(String, RunConfig)>) = marked
            .map(|r| (r.id, (r.name(Lang::En), r.requested.clone())))
            .unzip();
        lockstep::comparable(&mut runs)?;
        let seeds = seeds_for(&runs, &engine::memory_budget(self.gpu.as_ref()))?;
        let planned = lockstep::seeded(&runs, seeds).collect();
        let labels = runs.into_iter().map(|(label, _)| label).collect();
        self.start_lanes(&MARKED, Kind::Marked { ids, labels }, seeds, planned)
    }
}

// Natively: the CPU engine's steps complete at once.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::contract::engine::wait;
    use crate::lab::experiment_views::results_rows;
    use crate::lab::i18n::Lang;
    use crate::lab::lockstep::PAGE_SEEDS;
    use crate::lab::page_defaults;
    use crate::lab::tests::{clock, settings};
    use crate::model::ParamLayout;
    use crate::train::lockstep::Lane;

    /// A page of tiny runs of `steps` steps: run 1 at the defaults, run 2 with LayerNorm and
    /// 2 KV heads (shapes differ in wk and wv).
    fn two_runs(steps: &str) -> Lab {
        let tiny = [
            ("model.d_model", "16"),
            ("model.n_layers", "1"),
            ("model.context_len", "16"),
            ("train.seq_len", "16"),
            ("train.batch_size", "2"),
            ("train.steps", steps),
        ];
        let mut lab = Lab::new(page_defaults(), &settings(&tiny), None);
        assert!(lab.change("model.norm", "layer_norm"));
        assert!(lab.change("model.n_kv_heads", "2"));
        assert_eq!(lab.runs.len(), 3);
        lab.remove(2);
        lab
    }

    #[test]
    fn marked_runs_train_in_lockstep_on_the_same_batches_from_equal_shared_tensors() {
        let mut lab = two_runs("3");
        lab.toggle_marked(1);
        lab.toggle_marked(3);
        assert_eq!(lab.marked(), [1, 3]);
        lab.start_compare().unwrap();
        let experiment = lab.experiment.as_ref().unwrap();
        assert_eq!(experiment.seeds, PAGE_SEEDS);
        let lanes = &experiment.lockstep.lanes;
        let layout = |lane: &Lane| ParamLayout::new(&lane.session.run.model);
        let params = |lane: &Lane| wait(lane.engine.start_state()).unwrap().params;
        for seed in 0..PAGE_SEEDS {
            let [a, b] = [0, 1].map(|variant| {
                (lanes.iter())
                    .find(|l| l.variant == variant && l.seed == seed)
                    .unwrap()
            });
            assert_eq!(a.session.run.model.n_kv_heads, 4);
            assert_eq!(b.session.run.model.n_kv_heads, 2);
            for step in 0..3 {
                assert_eq!(a.session.train_batch(step), b.session.train_batch(step));
            }
            let (pa, pb) = (params(a), params(b));
            let (mut shared, mut differ) = (0, 0);
            for spec in &layout(a).tensors {
                match layout(b).find(&spec.name) {
                    Some(other) if other.shape == spec.shape => {
                        assert_eq!(pa[spec.range()], pb[other.range()], "{}", spec.name);
                        shared += 1;
                    }
                    _ => differ += 1,
                }
            }
            assert_eq!(differ, 2, "wk and wv of the one layer");
            assert!(shared > 6, "{shared} shared tensors");
        }
        // Seeds differ in batches.
        assert_ne!(
            lanes[0].session.train_batch(0),
            lanes[1].session.train_batch(0)
        );
        assert_eq!(
            experiment.banner(Lang::En),
            "runs 1, 3 in lockstep: step 0 of 3, 2 runs × 2 seeds"
        );

        let clock = clock();
        lab.train(0.0, &clock);
        let steps = |lab: &Lab| -> Vec<usize> {
            let lanes = &lab.experiment.as_ref().unwrap().lockstep.lanes;
            lanes.iter().map(|l| l.session.steps_done()).collect()
        };
        assert_eq!(steps(&lab), [1; 4], "one round: a step of each lane");
        while lab.experiment_training() {
            lab.train(1.0, &clock);
        }
        assert_eq!(steps(&lab), [3; 4]);
        let experiment = lab.experiment.as_ref().unwrap();
        assert_eq!(
            experiment.banner(Lang::En),
            "runs 1, 3 in lockstep: finished, 2 runs × 2 seeds"
        );
        let rows = results_rows(crate::lab::i18n::Lang::En, &experiment.variants());
        let labels: Vec<&str> = rows.iter().map(|row| row[0].as_str()).collect();
        assert_eq!(
            labels,
            [lab.runs[0].name(Lang::En), lab.runs[1].name(Lang::En)]
        );
        assert!(rows.iter().all(|row| row[9] == "0 of 2"));
        assert!(experiment.judged().is_none(), "no claim, no verdict");
        assert_eq!(experiment.loss(), LossUnit::NatsPerToken);
        assert_eq!(
            lab.runs[1].session.steps_done(),
            0,
            "the visitor's run waited"
        );
    }

    #[test]
    fn fewer_than_two_marked_runs_or_two_alike_are_refused_by_name() {
        let mut lab = two_runs("3");
        let refused = lab.start_compare().unwrap_err();
        assert_eq!(refused.field, "compare");
        assert_eq!(refused.reason, "needs two configurations or more; got none");
        lab.toggle_marked(3);
        let refused = lab.start_compare().unwrap_err();
        let only = format!(
            "needs two configurations or more; got only {}",
            lab.runs[1].name(Lang::En)
        );
        assert_eq!(refused.reason, only);

        // Run 4 differs from run 3 in its seed only: at one seed it would repeat it.
        assert!(lab.change("train.seed", "7"));
        lab.toggle_marked(4);
        let refused = lab.start_compare().unwrap_err();
        let same = format!(
            "{} and {} are the same configuration at one seed",
            lab.runs[1].name(Lang::En),
            lab.runs[2].name(Lang::En)
        );
        assert_eq!(refused.reason, same);
        assert!(lab.experiment.is_none(), "nothing started");
    }
}
