//! What Play trains now, so that its button can say so (issue 14: once an experiment had
//! ended, Play looked as if it did nothing). The page's loops train the same thing: the
//! experiment while it has steps left, else the newest run while it has (it waited during
//! the experiment), else nothing.

use super::i18n::Lang;
use super::tour_text::fill;
use super::{page_text, views, Lab};

/// What Play trains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlayTarget {
    /// The experiment's lanes, from where they are.
    Experiment,
    /// The newest run (by id), on from its step `done`.
    Run { id: usize, done: usize },
    /// Nothing: the newest run (by id) has ended.
    Ended { id: usize },
    /// Nothing: there is no run.
    NoRun,
}

impl Lab {
    /// What Play trains now (see [`PlayTarget`]).
    pub fn play_target(&self) -> PlayTarget {
        if self.experiment_training() {
            return PlayTarget::Experiment;
        }
        match (self.training_run(), self.runs.last()) {
            (Some(run), _) => PlayTarget::Run {
                id: run.id,
                done: run.session.steps_done(),
            },
            (None, Some(run)) => PlayTarget::Ended { id: run.id },
            (None, None) => PlayTarget::NoRun,
        }
    }

    /// Whether Play has anything to train.
    pub fn can_play(&self) -> bool {
        match self.play_target() {
            PlayTarget::Experiment | PlayTarget::Run { .. } => true,
            PlayTarget::Ended { .. } | PlayTarget::NoRun => false,
        }
    }

    /// Play's title in `lang`: what it trains, or why nothing ("Nothing left to train: run 1:
    /// finished, 12 steps. ...").
    pub fn play_title(&self, lang: Lang) -> String {
        let words = page_text::of(lang);
        let titles = &words.play_titles;
        match self.play_target() {
            PlayTarget::Experiment => {
                let banner =
                    (self.experiment.as_ref()).map_or_else(String::new, |e| e.banner(lang));
                fill(titles[0], &[("banner", &banner)])
            }
            PlayTarget::Run { id, done } => fill(
                titles[1],
                &[("id", &id.to_string()), ("done", &done.to_string())],
            ),
            PlayTarget::Ended { id } => {
                let status = (self.runs.iter().find(|r| r.id == id))
                    .map_or_else(String::new, |run| views::status_text(run, &words.status));
                fill(titles[2], &[("id", &id.to_string()), ("status", &status)])
            }
            PlayTarget::NoRun => titles[3].to_string(),
        }
    }
}

// Natively: the CPU engine's steps complete at once.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::lab::page_defaults;
    use crate::lab::tests::{clock, settings};

    /// Issue 14: after an experiment ended, Play did nothing that could be seen. Now its title
    /// says what it trains (the run that waited) or why there is nothing, and Play trains
    /// exactly that.
    #[test]
    fn play_says_what_it_trains_after_an_experiment() {
        let clock = clock();
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "3")]), None);
        lab.train(0.0, &clock);
        assert_eq!(lab.play_target(), PlayTarget::Run { id: 1, done: 1 });
        assert_eq!(lab.play_title(Lang::En), "Play trains run 1 on from step 1");
        lab.start_experiment("final-norm").unwrap();
        assert_eq!(lab.play_target(), PlayTarget::Experiment);
        assert_eq!(
            lab.play_title(Lang::En),
            "Play trains the experiment on: experiment final-norm: step 0 of 3, 2 variants × 2 seeds"
        );
        while lab.experiment_training() {
            lab.train(1.0, &clock);
        }
        // The experiment has ended: Play goes on with the run that waited, as it says.
        assert_eq!(lab.play_target(), PlayTarget::Run { id: 1, done: 1 });
        assert!(lab.can_play());
        assert!(lab.train(1.0, &clock) > 0);
        assert_eq!(lab.runs[0].session.steps_done(), 2, "the run trained on");
        while lab.train(1.0, &clock) > 0 {}
        // Nothing left: Play cannot, and says why in both languages.
        assert_eq!(lab.play_target(), PlayTarget::Ended { id: 1 });
        assert!(!lab.can_play());
        assert_eq!(
            lab.play_title(Lang::En),
            "Nothing left to train: run 1: finished, 3 steps. Reset trains it again from step 0; \
             a changed setting starts a new run."
        );
        assert!(lab
            .play_title(Lang::Zh)
            .starts_with("没有可训练的了：运行 1：已完成，共 3 步。"));
        lab.remove(1);
        assert_eq!(lab.play_target(), PlayTarget::NoRun);
        assert!(!lab.can_play());
    }

    /// An experiment stopped by the visitor trains no more: Play goes on with the run.
    #[test]
    fn a_stopped_experiment_leaves_play_to_the_run() {
        let clock = clock();
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "5")]), None);
        lab.start_experiment("final-norm").unwrap();
        lab.train(0.0, &clock);
        lab.stop_experiment();
        assert_eq!(lab.play_target(), PlayTarget::Run { id: 1, done: 0 });
    }
}
