//! The page's experiment (or sweep) kept across reloads and in a shared session: its lanes'
//! configurations, statuses and histories as data ([`SavedExperiment`], inside
//! `store::SavedRuns`), checked when read, and reopened paused with its banner, curves and
//! results table. Its lanes' parameters are not kept (one engine per lane: too much for the
//! browser's storage or a link), so an experiment that was still training starts again from
//! step 0 before its next step (`Lab::train`, `Lab::gpu_pump`), and the banner and the notice
//! say so.

use serde::{Deserialize, Serialize};

use super::lockstep::{named_experiment, Kind, PageExperiment};
use super::store::{check_history, StoreError};
use super::Lab;
use crate::train::experiments::Experiment;
use crate::train::run::RunConfig;
use crate::train::session::{RunStatus, StepRecord};
use crate::train::sweep::{PAGE_VARIANTS, SWEEP};

/// An experiment of the page as the charts and the results table show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedExperiment {
    /// The experiment's name (`train::experiments`), "lr-sweep" for the sweep.
    pub name: String,
    /// The sweep's learning rates, in its lanes' order; None for an experiment of claims.
    pub lrs: Option<Vec<f64>>,
    pub seeds: usize,
    /// Whether the visitor stopped it.
    pub stopped: bool,
    /// Lanes still training make it start again from step 0.
    pub lanes: Vec<SavedLane>,
}

/// One lane: a variant at a seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedLane {
    pub variant: usize,
    pub seed: usize,
    /// The validated configuration it trained.
    pub run: RunConfig,
    pub status: RunStatus,
    /// Every step's record from step 0.
    pub history: Vec<StepRecord>,
}

/// The experiment is one the page knows, its lanes fit its variants (and the sweep's learning
/// rates), each lane's configuration validates and its history counts from step 0.
pub fn check_experiment(saved: &SavedExperiment) -> Result<(), StoreError> {
    let refused = |reason: String| StoreError(format!("experiment {}: {reason}", saved.name));
    let experiment = kept_experiment(saved)?;
    if saved.seeds == 0 || saved.lanes.is_empty() {
        return Err(refused("it has no lanes".into()));
    }
    // The sweep's lanes go learning rate by learning rate, a lane per page variant.
    if let Some(lrs) = &saved.lrs {
        if saved.lanes.len() != lrs.len() * PAGE_VARIANTS.len() {
            return Err(refused(format!(
                "{} lanes for {} learning rates of {} variants",
                saved.lanes.len(),
                lrs.len(),
                PAGE_VARIANTS.len()
            )));
        }
    }
    for (index, lane) in saved.lanes.iter().enumerate() {
        let lane_refused = |reason: String| refused(format!("lane {index}: {reason}"));
        if lane.variant >= experiment.variants.len() || lane.seed >= saved.seeds {
            return Err(lane_refused(format!(
                "variant {} at seed {} is not one of its {} variants at {} seeds",
                lane.variant,
                lane.seed,
                experiment.variants.len(),
                saved.seeds
            )));
        }
        check_history(&lane.run, 0, &lane.history).map_err(lane_refused)?;
    }
    Ok(())
}

/// The experiment `saved` names: the sweep when it has learning rates, else a lecture
/// experiment.
fn kept_experiment(saved: &SavedExperiment) -> Result<&'static Experiment, StoreError> {
    let refused = |reason: String| StoreError(format!("experiment {}: {reason}", saved.name));
    match &saved.lrs {
        Some(_) if saved.name == SWEEP.name => Ok(&SWEEP),
        Some(_) => Err(refused(
            "only the learning-rate sweep has learning rates".into(),
        )),
        // The reason names it: "unknown experiment \"x\"".
        None => named_experiment(&saved.name).map_err(|e| StoreError(e.reason)),
    }
}

impl PageExperiment {
    /// The experiment as it stands, to keep or share.
    pub fn saved(&self) -> SavedExperiment {
        SavedExperiment {
            name: self.experiment.name.to_string(),
            lrs: match &self.kind {
                Kind::Claims | Kind::Marked { .. } => None,
                Kind::Sweep { lrs } => Some(lrs.clone()),
            },
            seeds: self.seeds,
            stopped: self.stopped,
            lanes: (self.lockstep.lanes.iter())
                .map(|lane| SavedLane {
                    variant: lane.variant,
                    seed: lane.seed,
                    run: lane.session.run.clone(),
                    status: lane.session.status,
                    history: lane.session.history.clone(),
                })
                .collect(),
        }
    }
}

impl Lab {
    /// Makes `saved` the page's experiment again: a lane (data and a new engine) per saved
    /// lane, each with its history and status. One that was training starts again from step
    /// 0 before its next step ([`Lab::restart_kept_experiment`]): its new engines hold the
    /// initial values, not those of the step it stood at. Refused, with the reason, when a lane
    /// cannot be rebuilt (its data, or its engine's memory).
    pub(super) fn reopen_experiment(&mut self, saved: SavedExperiment) -> Result<(), StoreError> {
        let experiment = kept_experiment(&saved)?;
        let kind = match &saved.lrs {
            Some(lrs) => Kind::Sweep { lrs: lrs.clone() },
            None => Kind::Claims,
        };
        let planned = (saved.lanes.iter())
            .map(|lane| (lane.variant, lane.seed, lane.run.clone()))
            .collect();
        self.start_lanes(experiment, kind, saved.seeds, planned)
            .map_err(|e| StoreError(format!("experiment {}: {e}", saved.name)))?;
        let page = self.experiment.as_mut().expect("the lanes just started");
        for (lane, kept) in page.lockstep.lanes.iter_mut().zip(saved.lanes) {
            lane.session.history = kept.history;
            lane.session.status = kept.status;
        }
        page.stopped = saved.stopped;
        page.restarts_on_play = page.training();
        Ok(())
    }

    /// Starts an experiment that came back while it trained (see
    /// [`Lab::reopen_experiment`]) again from step 0, before any of its lanes steps; if its
    /// lanes cannot be opened again (start_lanes drops the old ones first), the reason is the
    /// problem shown.
    pub(super) fn restart_kept_experiment(&mut self) {
        let Some(page) = (self.experiment.as_ref()).filter(|e| e.restarts_on_play && e.training())
        else {
            return;
        };
        let planned = (page.lockstep.lanes.iter())
            .map(|lane| (lane.variant, lane.seed, lane.session.run.clone()))
            .collect();
        let (experiment, kind, seeds) = (page.experiment, page.kind.clone(), page.seeds);
        if let Err(error) = self.start_lanes(experiment, kind, seeds, planned) {
            self.problem = Some(error);
        }
    }

    /// What came back of the experiment, for the notice: "experiment norm-type comes back at
    /// step 12; its lanes' parameters were not kept, so play restarts it from step 0".
    pub fn kept_experiment_notice(&self) -> Option<String> {
        let page = self.experiment.as_ref()?;
        let name = page.experiment.name;
        Some(if page.restarts_on_play && page.training() {
            format!(
                "experiment {name} comes back at step {}; its lanes' parameters were not \
                 kept, so play restarts it from step 0",
                page.lockstep.step()
            )
        } else {
            format!("experiment {name} comes back as it ended")
        })
    }
}

// Natively: the CPU engine's steps complete at once.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::lab::experiment_views::results_rows;
    use crate::lab::i18n::Lang;
    use crate::lab::store::{self, SavedRuns};
    use crate::lab::tests::{clock, settings};
    use crate::lab::{page_defaults, SaveMark};

    /// A page at a tiny scale whose experiment `name` took `rounds` rounds of 4 steps.
    fn experiment_lab(name: &str, rounds: usize) -> Lab {
        let tiny = [
            ("model.d_model", "16"),
            ("model.n_layers", "1"),
            ("train.steps", "4"),
        ];
        let mut lab = Lab::new(page_defaults(), &settings(&tiny), None);
        lab.start_experiment(name).unwrap();
        let now = clock();
        for _ in 0..rounds {
            lab.train(0.0, &now);
        }
        lab
    }

    fn reopened(lab: &Lab) -> Lab {
        let restored = store::restore(&lab.saved_runs().to_json(), None).unwrap();
        Lab::reopen(page_defaults(), &lab.url_settings(), None, restored).unwrap()
    }

    /// (variant, seed, configuration, status, steps, losses) of every lane.
    fn lanes(lab: &Lab) -> Vec<String> {
        let experiment = lab.experiment.as_ref().unwrap();
        (experiment.lockstep.lanes.iter())
            .map(|l| {
                let losses: Vec<f32> = l.session.history.iter().map(|r| r.loss).collect();
                let run = &l.session.run;
                format!("{} {} {run:?} {:?}", l.variant, l.seed, losses)
            })
            .collect()
    }

    #[test]
    fn a_training_experiment_comes_back_and_starts_again_at_its_next_step() {
        let mut lab = experiment_lab("norm-type", 2);
        let mut back = reopened(&lab);
        assert_eq!(lanes(&back), lanes(&lab), "every lane with its history");
        let experiment = back.experiment.as_ref().unwrap();
        assert_eq!(
            experiment.banner(Lang::En),
            "experiment norm-type: step 2 of 4 (play restarts it from step 0), 3 variants × 2 \
             seeds"
        );
        assert!(experiment.restarts_on_play && experiment.training());
        let rows = |lab: &Lab| {
            results_rows(
                crate::lab::i18n::Lang::En,
                &lab.experiment.as_ref().unwrap().variants(),
            )
        };
        assert_eq!(rows(&back), rows(&lab), "the same results table");
        assert!(
            rows(&back)[0][1].parse::<f64>().is_ok(),
            "{:?}",
            rows(&back)
        );
        let notice = back.restored_notice();
        assert!(
            notice.starts_with("Restored 1 run kept in this browser; ")
                && notice.ends_with(
                    "; experiment norm-type comes back at step 2; its lanes' parameters were \
                     not kept, so play restarts it from step 0."
                ),
            "{notice}"
        );
        // Kept again before play: it still starts again after the next reload.
        let again = reopened(&back);
        assert_eq!(lanes(&again), lanes(&lab));
        assert!(again.experiment.as_ref().unwrap().restarts_on_play);

        // The next step is step 0 of new lanes: one round, one step each.
        let now = clock();
        back.train(0.0, &now);
        let experiment = back.experiment.as_ref().unwrap();
        assert!(experiment.training() && !experiment.restarts_on_play);
        assert!((experiment.lockstep.lanes.iter()).all(|l| l.session.steps_done() == 1));
        assert!(!experiment.banner(Lang::En).contains("restarts"));
        // Trained again from step 0, the lanes' losses repeat the first training's.
        while back.experiment_training() {
            back.train(1.0, &now);
        }
        while lab.experiment_training() {
            lab.train(1.0, &now);
        }
        assert_eq!(lanes(&back), lanes(&lab));
    }

    #[test]
    fn a_finished_sweep_comes_back_finished_with_its_table() {
        let tiny = [("model.d_model", "16"), ("train.steps", "3")];
        let mut lab = Lab::new(page_defaults(), &settings(&tiny), None);
        lab.start_sweep(&[1e-3, 1e30]).unwrap();
        let now = clock();
        while lab.experiment_training() {
            lab.train(1.0, &now);
        }
        let back = reopened(&lab);
        let (a, b) = (
            lab.experiment.as_ref().unwrap(),
            back.experiment.as_ref().unwrap(),
        );
        assert_eq!(b.banner(Lang::En), a.banner(Lang::En));
        assert!(
            b.banner(Lang::En).contains("finished"),
            "{}",
            b.banner(Lang::En)
        );
        assert_eq!(b.sweep_table(), a.sweep_table());
        assert_eq!(b.kind, a.kind);
        assert!(!b.restarts_on_play);
        assert!(back
            .restored_notice()
            .ends_with("; experiment lr-sweep comes back as it ended."));
    }

    #[test]
    fn saves_are_due_when_an_experiment_starts_and_every_so_often_while_it_trains() {
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "5")]), None);
        let first: SaveMark = lab.save_mark();
        lab.start_experiment("final-norm").unwrap();
        let started = lab.save_mark();
        assert!(started.due(&first, true, 1.0), "started: at once");
        lab.train(0.0, &clock());
        let stepped = lab.save_mark();
        assert!(!stepped.due(&started, true, 1.0), "a step: waits");
        assert!(stepped.due(&started, true, crate::lab::SAVE_EVERY_SECONDS));
        lab.stop_experiment();
        assert!(lab.save_mark().due(&stepped, true, 1.0), "stopped: at once");
    }

    fn refusal(saved: &SavedRuns) -> String {
        store::restore(&saved.to_json(), None).unwrap_err().0
    }

    #[test]
    fn a_kept_experiment_that_does_not_fit_is_refused_with_the_reason() {
        let lab = experiment_lab("final-norm", 1);
        let saved = lab.saved_runs();
        let edit = |change: fn(&mut SavedExperiment)| {
            let mut edited = saved.clone();
            change(edited.experiment.as_mut().unwrap());
            refusal(&edited)
        };
        assert_eq!(
            edit(|e| e.name = "nope".into()),
            "unknown experiment \"nope\""
        );
        assert_eq!(
            edit(|e| e.lanes[1].variant = 9),
            "experiment final-norm: lane 1: variant 9 at seed 1 is not one of its 2 variants \
             at 2 seeds"
        );
        assert_eq!(
            edit(|e| e.lanes.clear()),
            "experiment final-norm: it has no lanes"
        );
        assert_eq!(
            edit(|e| e.lrs = Some(vec![1e-3])),
            "experiment final-norm: only the learning-rate sweep has learning rates"
        );
        assert_eq!(
            edit(|e| {
                e.name = "lr-sweep".into();
                e.lrs = Some(vec![1e-3]);
            }),
            "experiment lr-sweep: 4 lanes for 1 learning rates of 2 variants"
        );
        assert_eq!(
            edit(|e| e.lanes[2].history[0].step = 1),
            "experiment final-norm: lane 2: its history has step 1 where step 0 belongs"
        );
        let invalid = edit(|e| e.lanes[0].run.model.n_kv_heads = 3);
        assert!(
            invalid.starts_with("experiment final-norm: lane 0: model.n_kv_heads"),
            "{invalid}"
        );
        // A copy kept before experiments were (no field) reads as none.
        let mut old = saved.clone();
        old.experiment = None;
        let json = old.to_json().replace(",\"experiment\":null", "");
        assert!(!json.contains("experiment"));
        assert_eq!(store::restore(&json, None).unwrap().runs.experiment, None);
    }
}
