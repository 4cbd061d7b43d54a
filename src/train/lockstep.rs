//! Lockstep: an experiment's variants (and seeds) train together, interleaved one step each in
//! turn, so that every lane is at the same step at the end of a round and the curves can be
//! compared step by step while they grow. Lanes with the same data settings and seed see the
//! same batches (batches are a function of (seed, split, step)) and start with equal values in
//! every tensor they share (`ParamLayout::init` draws each tensor from a stream keyed by the seed
//! and its name). A lane that diverges, or whose engine fails, stops alone; the others go on.

use super::run::{RunConfig, RunError};
use super::session::{PendingValidation, RunStatus, Session};
use crate::contract::Engine;

/// Each variant of `runs` at seeds `0..seeds`, variant by variant: (variant, seed, its
/// configuration with `train.seed` the base seed plus the seed), for a lane each.
pub fn seeded<L>(
    runs: &[(L, RunConfig)],
    seeds: usize,
) -> impl Iterator<Item = (usize, usize, RunConfig)> + '_ {
    runs.iter()
        .enumerate()
        .flat_map(move |(variant, (_, run))| {
            (0..seeds).map(move |seed| {
                let mut run = run.clone();
                run.train.seed += seed as u64;
                (variant, seed, run)
            })
        })
}

/// Makes configurations chosen to compare (the page's marked runs, `archlab compare`'s files)
/// lanes of one lockstep: every one at the first one's `train.seed`, so that lanes with the
/// same data settings see the same batches and start equal in the tensors they share. Refused,
/// naming them, when there are fewer than two or two are then the same configuration (one lane
/// would repeat the other).
pub fn comparable<L: AsRef<str>>(runs: &mut [(L, RunConfig)]) -> Result<(), RunError> {
    let refused = |reason: String| Err(RunError::new("compare", reason));
    let Some(seed) = runs.first().map(|(_, run)| run.train.seed) else {
        return refused("needs two configurations or more; got none".into());
    };
    if runs.len() < 2 {
        let only = runs[0].0.as_ref();
        return refused(format!("needs two configurations or more; got only {only}"));
    }
    for (_, run) in runs.iter_mut() {
        run.train.seed = seed;
    }
    for (index, (label, run)) in runs.iter().enumerate() {
        if let Some((same, _)) = runs[index + 1..].iter().find(|(_, other)| other == run) {
            return refused(format!(
                "{} and {} are the same configuration at one seed",
                label.as_ref(),
                same.as_ref()
            ));
        }
    }
    Ok(())
}

/// One variant at one seed: its session and the engine it trains on.
pub struct Lane {
    /// Index of the variant (in the experiment's order).
    pub variant: usize,
    /// Index of the seed (0-based; the run's `train.seed` is the base seed plus it).
    pub seed: usize,
    pub session: Session,
    pub engine: Box<dyn Engine>,
}

impl Lane {
    /// Whether the lane still takes steps.
    pub fn training(&self) -> bool {
        self.session.status == RunStatus::Training
    }
}

/// Lanes stepped in turn.
pub struct Lockstep {
    pub lanes: Vec<Lane>,
}

impl Lockstep {
    pub fn new(lanes: Vec<Lane>) -> Self {
        Self { lanes }
    }

    /// Whether any lane still takes steps.
    pub fn training(&self) -> bool {
        self.lanes.iter().any(Lane::training)
    }

    /// Stops every lane that still trains where it is (its history stays).
    pub fn stop(&mut self) {
        for lane in self.lanes.iter_mut().filter(|l| l.training()) {
            lane.session.halt();
        }
    }

    /// The step every lane has reached: the fewest steps any training lane has taken (the
    /// longest run's steps once none trains).
    pub fn step(&self) -> usize {
        let training = self.lanes.iter().filter(|l| l.training());
        match training.map(|l| l.session.steps_done()).min() {
            Some(step) => step,
            None => (self.lanes.iter().map(|l| l.session.steps_done()).max()).unwrap_or(0),
        }
    }

    /// One round: records what arrived on each lane, then lets each lane that trains, has
    /// nothing in flight and is not ahead submit its next step (at most one step each). A lane
    /// submits step s only once every lane that trains has recorded step s - 1, so that on an
    /// engine whose reports and validations arrive later (the GPU's) the lanes' recorded steps
    /// never differ by more than one. Returns the validations still on their way, by lane
    /// index (none on an engine that completes at once). A lane whose engine fails is marked
    /// stopped and takes no more steps; one that stopped with steps in flight still records
    /// them.
    pub fn round(&mut self, clock: &dyn Fn() -> f64) -> Vec<(usize, PendingValidation)> {
        let reached = self.step();
        let mut pending = Vec::new();
        for (index, lane) in self.lanes.iter_mut().enumerate() {
            let due = lane.session.next_step(lane.engine.as_ref()) <= reached;
            let submit = usize::from(lane.training() && due);
            if submit == 0 && lane.engine.in_flight() == 0 {
                continue;
            }
            match lane.session.pump(lane.engine.as_mut(), clock, 1, submit) {
                Ok(validations) => pending.extend(validations.into_iter().map(|v| (index, v))),
                Err(_) => lane.session.stop(),
            }
        }
        pending
    }

    /// Natively: rounds until no lane trains, each round waiting until every lane's step is
    /// recorded; `on_round` sees the lanes after each round.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn run_blocking(&mut self, clock: &dyn Fn() -> f64, mut on_round: impl FnMut(&Lockstep)) {
        use crate::contract::engine::wait;
        while self.training() {
            let pending = self.round(clock);
            for lane in &mut self.lanes {
                while lane.engine.in_flight() > 0 {
                    let arrived = wait(lane.engine.next_report())
                        .and_then(|()| lane.session.pump(lane.engine.as_mut(), clock, 1, 0));
                    if arrived.is_err() {
                        lane.session.stop();
                        break;
                    }
                }
            }
            for (index, validation) in pending {
                let session = &mut self.lanes[index].session;
                if session.wait_validation(validation).is_err() {
                    session.stop();
                }
            }
            on_round(self);
        }
    }
}

// Natively only: the tests wait for the engine (run_blocking).
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::cpu::CpuEngine;
    use crate::model::ParamLayout;
    use crate::train::data::Split;
    use crate::train::run::RunConfig;

    /// Two lanes of a tiny model that differ in the norm type and the KV heads.
    fn lanes(steps: usize) -> Lockstep {
        let lanes = [("rms_norm", "4"), ("layer_norm", "2")]
            .iter()
            .enumerate()
            .map(|(variant, (norm, kv))| {
                let mut run = RunConfig::default();
                for (key, value) in [
                    ("model.d_model", "16"),
                    ("model.n_heads", "4"),
                    ("train.batch_size", "2"),
                    ("train.seq_len", "8"),
                    ("train.steps", &steps.to_string()),
                    ("train.eval_interval", "2"),
                    ("model.norm", norm),
                    ("model.n_kv_heads", kv),
                ] {
                    run.set(key, value).unwrap();
                }
                let data = run.build_data(None).unwrap();
                let engine = CpuEngine::new(&run.model, run.train.seed).unwrap();
                Lane {
                    variant,
                    seed: 0,
                    session: Session::new(run, data),
                    engine: Box::new(engine),
                }
            })
            .collect();
        Lockstep::new(lanes)
    }

    #[test]
    fn lockstep_lanes_see_the_same_batches_and_start_equal_in_shared_tensors() {
        let lockstep = lanes(4);
        let (a, b) = (&lockstep.lanes[0], &lockstep.lanes[1]);
        assert_ne!(a.session.run.model, b.session.run.model);
        for step in 0..6 {
            assert_eq!(a.session.train_batch(step), b.session.train_batch(step));
            let split = Split::Validation;
            assert_eq!(
                a.session.data.batch(split, step as u64),
                b.session.data.batch(split, step as u64)
            );
        }
        assert_eq!(
            a.session.validation_batches(),
            b.session.validation_batches()
        );
        let state = |lane: &Lane| {
            crate::contract::engine::wait(lane.engine.start_state())
                .unwrap()
                .params
        };
        let (pa, pb) = (state(a), state(b));
        let layouts = [&a.session.run.model, &b.session.run.model].map(ParamLayout::new);
        let (mut shared, mut differ) = (0, 0);
        for spec in &layouts[0].tensors {
            match layouts[1].find(&spec.name) {
                Some(other) if other.shape == spec.shape => {
                    assert_eq!(pa[spec.range()], pb[other.range()], "{}", spec.name);
                    shared += 1;
                }
                _ => differ += 1,
            }
        }
        // wk and wv of each of the 2 layers differ in shape; the rest is shared.
        assert_eq!(differ, 4);
        assert!(shared > 8, "{shared}");
    }

    #[test]
    fn lanes_advance_together_and_a_diverged_lane_stops_alone() {
        let mut lockstep = lanes(5);
        let clock = || 0.0;
        let mut steps = Vec::new();
        lockstep.run_blocking(&clock, |l| {
            steps.push(
                l.lanes
                    .iter()
                    .map(|l| l.session.steps_done())
                    .collect::<Vec<_>>(),
            );
        });
        assert_eq!(steps[0], [1, 1]);
        assert_eq!(steps[2], [3, 3]);
        assert!(lockstep
            .lanes
            .iter()
            .all(|l| l.session.status == RunStatus::Finished));
        assert!(lockstep
            .lanes
            .iter()
            .all(|l| l.session.last_val_loss().is_some()));

        // A lane whose learning rate blows it up stops; the other finishes.
        let mut lockstep = lanes(6);
        lockstep.lanes[1].session.run.train.lr = 1e30;
        lockstep.run_blocking(&clock, |_| {});
        assert!(matches!(
            lockstep.lanes[1].session.status,
            RunStatus::Diverged { .. }
        ));
        assert_eq!(lockstep.lanes[0].session.status, RunStatus::Finished);
        assert_eq!(lockstep.lanes[0].session.history.len(), 6);
    }

    /// A lane ahead (its report came first on an asynchronous engine, say) waits for the
    /// others: no lane submits step s before every lane has recorded step s - 1.
    #[test]
    fn a_lane_ahead_waits_for_the_others() {
        let mut lockstep = lanes(4);
        let clock = || 0.0;
        let steps = |l: &Lockstep| -> Vec<usize> {
            l.lanes.iter().map(|l| l.session.steps_done()).collect()
        };
        let lane = &mut lockstep.lanes[0];
        lane.session
            .pump(lane.engine.as_mut(), &clock, 1, 1)
            .unwrap();
        assert_eq!(steps(&lockstep), [1, 0]);
        lockstep.round(&clock);
        assert_eq!(steps(&lockstep), [1, 1], "the lane ahead waited");
        lockstep.round(&clock);
        assert_eq!(steps(&lockstep), [2, 2]);
    }
}
