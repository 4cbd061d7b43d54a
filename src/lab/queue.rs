//! Lecture experiments in the page: one click queues an experiment's variants, and each trains
//! as a run of its own once the one before it has stopped, at the page's scale (the
//! experiment's settings over the page's defaults, so the small page model stays unless the
//! experiment sets a field itself).

use std::collections::VecDeque;

use super::Lab;
use crate::train::experiments::Experiment;
use crate::train::run::{RunConfig, RunError};
use crate::train::session::RunStatus;

/// The visitor's settings an experiment keeps, applied over each variant when they differ from
/// the page's defaults: the run length, so that `?train.steps=20` gives a quick look, as
/// `archlab experiment --set train.steps=20` does. Anything else would blur the comparison.
pub const KEPT_SETTINGS: [&str; 1] = ["train.steps"];

/// An experiment in progress: the variants still to start, and the run of the newest one.
pub struct ExperimentQueue {
    pub experiment: &'static Experiment,
    pending: VecDeque<(&'static str, RunConfig)>,
    /// Id of the run of the variant started last.
    current: usize,
}

impl ExperimentQueue {
    /// (1-based number of the variant started last, variants in all).
    pub fn progress(&self) -> (usize, usize) {
        let total = self.experiment.variants.len();
        (total - self.pending.len(), total)
    }
}

impl Lab {
    /// Queues the variants of the experiment `name` and starts the first; any earlier queue is
    /// dropped. Every variant is validated first, so that none starts when one cannot.
    pub fn start_experiment(&mut self, name: &str) -> Result<(), RunError> {
        let experiment = Experiment::named(name).ok_or_else(|| RunError {
            field: "experiment".into(),
            reason: format!("unknown {name:?}"),
        })?;
        // Over this engine's defaults: the CPU engine keeps its smaller scale.
        let mut variants = experiment.runs(&self.defaults)?;
        for (_, run) in &mut variants {
            for key in KEPT_SETTINGS {
                let (Some(ours), Some(base)) = (self.draft.get(key), self.defaults.get(key)) else {
                    continue;
                };
                if ours != base {
                    run.set(key, &crate::train::run::value_text(&ours))?;
                }
            }
            run.validate()?;
        }
        self.experiment_queue = Some(ExperimentQueue {
            experiment,
            pending: variants.into(),
            current: 0,
        });
        self.start_next_variant()
    }

    /// Starts the experiment's next variant once the run of the current one has stopped
    /// (finished or diverged). A run the visitor started since (a control, a preset) ends the
    /// experiment. Returns whether a variant started.
    pub fn advance_experiment(&mut self) -> bool {
        let Some(queue) = &self.experiment_queue else {
            return false;
        };
        let newest = self.runs.last().map(|r| (r.id, r.session.status));
        match newest {
            Some((id, RunStatus::Training)) if id == queue.current => false,
            Some((id, _)) if id == queue.current => {
                if queue.pending.is_empty() {
                    return false;
                }
                if let Err(error) = self.start_next_variant() {
                    self.problem = Some(error);
                    self.experiment_queue = None;
                    return false;
                }
                true
            }
            // The visitor started or removed runs: the experiment is over.
            _ => {
                self.experiment_queue = None;
                false
            }
        }
    }

    /// The experiment whose variant is the newest run, with its progress.
    pub fn running_experiment(&self) -> Option<&ExperimentQueue> {
        let queue = self.experiment_queue.as_ref()?;
        (self.runs.last().map(|r| r.id) == Some(queue.current)).then_some(queue)
    }

    /// Starts the next queued variant as a run labelled by the variant, and shows its
    /// configuration in the controls.
    fn start_next_variant(&mut self) -> Result<(), RunError> {
        let Some(queue) = self.experiment_queue.as_mut() else {
            return Ok(());
        };
        let Some((label, run)) = queue.pending.pop_front() else {
            return Ok(());
        };
        let label = format!("{label} ({})", queue.experiment.name);
        let id = self.next_id;
        self.draft = run.clone();
        self.rejected.clear();
        self.problem = None;
        let previous = self.runs.last().map(|r| r.requested.clone());
        self.start(id, run, previous.as_ref(), Some(label), None)?;
        self.next_id += 1;
        if let Some(queue) = self.experiment_queue.as_mut() {
            queue.current = id;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::page_defaults;

    fn train_to_end(lab: &mut Lab) {
        let t = std::cell::Cell::new(0.0);
        let clock = || {
            t.set(t.get() + 0.001);
            t.get()
        };
        while lab.train(1.0, &clock) > 0 {}
    }

    #[test]
    fn variants_train_one_after_another_at_the_page_scale() {
        let mut lab = Lab::new(page_defaults(), &[("train.steps".into(), "2".into())], None);
        assert!(!lab.advance_experiment(), "no experiment yet");
        lab.start_experiment("norm-type").unwrap();
        let names = |lab: &Lab| lab.runs.iter().map(|r| r.name()).collect::<Vec<_>>();
        assert_eq!(names(&lab)[1], "run 2: RMSNorm (norm-type)");
        let queue = lab.running_experiment().unwrap();
        assert_eq!(queue.experiment.name, "norm-type");
        assert_eq!(queue.progress(), (1, 3));
        let run = &lab.runs[1].session.run;
        assert_eq!(run.train.steps, 2, "the visitor's run length");
        assert_eq!(run.train.eval_interval, 25, "the experiment's own setting");
        assert_eq!(run.model.d_model, 32, "the page's scale");
        assert!(!lab.advance_experiment(), "the first variant still trains");

        train_to_end(&mut lab);
        assert!(lab.advance_experiment());
        assert_eq!(names(&lab)[2], "run 3: LayerNorm (norm-type)");
        assert_eq!(
            lab.draft, lab.runs[2].requested,
            "the controls show the variant"
        );
        assert_eq!(lab.running_experiment().unwrap().progress(), (2, 3));
        train_to_end(&mut lab);
        assert!(lab.advance_experiment());
        train_to_end(&mut lab);
        assert!(!lab.advance_experiment(), "every variant ran");
        assert_eq!(lab.runs.len(), 4);
        assert_eq!(lab.runs[3].name(), "run 4: no norm (norm-type)");
        assert!(
            lab.running_experiment().is_some(),
            "the claim stays while its last run is the newest"
        );
    }

    #[test]
    fn a_visitors_run_ends_the_experiment() {
        let mut lab = Lab::new(page_defaults(), &[("train.steps".into(), "1".into())], None);
        lab.start_experiment("final-norm").unwrap();
        assert_eq!(lab.runs[1].session.run.train.steps, 1);
        assert!(lab.change("model.qk_norm", "true"));
        assert!(lab.running_experiment().is_none());
        train_to_end(&mut lab);
        assert!(!lab.advance_experiment());
        assert!(lab.experiment_queue.is_none());
        assert_eq!(lab.runs.len(), 3, "the second variant never started");
        assert!(lab.start_experiment("nope").is_err());
    }

    #[test]
    fn without_settings_the_experiment_runs_its_own_length() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        lab.start_experiment("norm-position").unwrap();
        let run = &lab.runs[1].session.run;
        assert_eq!(run.train.steps, 200);
        assert_eq!(
            run.model.n_layers, 6,
            "the experiment sets the depth itself"
        );
        assert_eq!(run.model.d_model, 32);
    }
}
