//! Runs across reloads, on the lab's side: the runs to keep ([`Lab::saved_runs`]), when to keep
//! them ([`SaveMark::due`]), and the page reopened from what was kept ([`Lab::reopen`]): every
//! run back on the charts with its history, the newest with its engine restored from its
//! checkpoint, so that play continues it where it stood.

use std::rc::Rc;

use super::i18n::Lang;
use super::lockstep::Kind;
use super::store::{Restored, SavedRun, SavedRuns, StoreError};
use super::{checkpoints, engine, Lab, RunEntry};
use crate::gpu::GpuContext;
use crate::train::hf_tokenizer::HfTokenizer;
use crate::train::run::{RunConfig, RunError};
use crate::train::session::{RunStatus, Session};

/// While the newest run trains, its runs are kept at most this often; any other change (a run
/// started, finished, stopped, removed or hidden, or training paused) is kept at once.
pub const SAVE_EVERY_SECONDS: f64 = 10.0;

/// What was last kept, to tell whether the runs changed since: per run its id, whether it is
/// hidden, its steps and its status; and the experiment's name, step and whether it trains.
#[derive(Clone, Debug, PartialEq)]
pub struct SaveMark {
    runs: Vec<(usize, bool, usize, RunStatus)>,
    experiment: Option<(&'static str, usize, bool)>,
}

impl SaveMark {
    /// Whether to keep the runs now, `since` seconds after `last` was kept: when they changed,
    /// and the change is more than the newest run's or the experiment's step count (or
    /// training is paused, or [`SAVE_EVERY_SECONDS`] have passed).
    pub fn due(&self, last: &SaveMark, playing: bool, since: f64) -> bool {
        let without_steps = |mark: &SaveMark| {
            let mut mark = mark.clone();
            if let Some(newest) = mark.runs.last_mut() {
                newest.2 = 0;
            }
            if let Some(experiment) = &mut mark.experiment {
                experiment.1 = 0;
            }
            mark
        };
        self != last
            && (!playing
                || since >= SAVE_EVERY_SECONDS
                || without_steps(self) != without_steps(last))
    }
}

impl Lab {
    /// The runs as they stand, to keep (the newest run's checkpoint is kept beside them).
    pub fn saved_runs(&self) -> SavedRuns {
        let runs = self
            .runs
            .iter()
            .map(|run| SavedRun {
                id: run.id,
                label: run.label.clone(),
                hidden: run.hidden,
                requested: run.requested.clone(),
                run: run.session.run.clone(),
                status: run.session.status,
                first_step: run.session.first_step,
                history: run.session.history.clone(),
            })
            .collect();
        let mut saved = SavedRuns::new(self.next_id, self.user_text.clone(), runs);
        // A comparison of marked runs is not kept: its runs are, and one click starts it again.
        saved.experiment = (self.experiment.as_ref())
            .filter(|e| !matches!(e.kind, Kind::Marked { .. }))
            .map(|e| e.saved());
        saved
    }

    /// The newest run's imported `tokenizer.json`, kept beside its checkpoint (a shared
    /// session carries none: see `lab::session`).
    pub fn kept_tokenizer(&self) -> Option<&str> {
        let newest = self.runs.last()?;
        newest.tokenizer.as_deref().map(HfTokenizer::file)
    }

    /// What [`Lab::saved_runs`] would keep, in brief.
    pub fn save_mark(&self) -> SaveMark {
        SaveMark {
            runs: (self.runs.iter())
                .map(|r| (r.id, r.hidden, r.session.steps_done(), r.session.status))
                .collect(),
            experiment: (self.experiment.as_ref())
                .map(|e| (e.experiment.name, e.lockstep.step(), e.training())),
        }
    }

    /// The page opened with `settings` over `base` (see [`Lab::new`]) and the runs that were
    /// kept: each back with its history and status, the newest with its engine restored from
    /// the checkpoint (when one was kept), paused, and with its imported tokenizer (when one was
    /// kept; one refused is named in the notice); the experiment back as
    /// `Lab::reopen_experiment` says. A run starts only if the controls' configuration is not
    /// the newest run's (a link to other settings). Refused, with the run and the reason, when
    /// a run or lane cannot be rebuilt (its data, or its engine's memory).
    pub fn reopen(
        base: RunConfig,
        settings: &[(String, String)],
        device: Option<Rc<GpuContext>>,
        restored: Restored,
    ) -> Result<Self, StoreError> {
        let mut lab = Self::configured(base, settings, device);
        let Restored {
            runs: saved,
            checkpoint,
            tokenizer,
        } = restored;
        lab.user_text = saved.user_text;
        lab.next_id = saved.next_id;
        let count = saved.runs.len();
        for (i, saved_run) in saved.runs.into_iter().enumerate() {
            let SavedRun {
                id,
                label,
                hidden,
                requested,
                run,
                status,
                first_step,
                history,
            } = saved_run;
            let refused = |e: RunError| StoreError(format!("run {id} cannot be rebuilt: {e}"));
            // Checked even without an engine: its validation batches are allocated all the same.
            let budget = engine::memory_budget(lab.gpu.as_ref());
            run.check_memory(&budget).map_err(refused)?;
            let data = lab.data_for(&run).map_err(refused)?;
            let engine = match checkpoint.as_ref().filter(|_| i + 1 == count) {
                Some(checkpoint) => {
                    let mut engine =
                        engine::open_engine(&run, lab.gpu.as_ref()).map_err(refused)?;
                    checkpoints::restore(engine.as_mut(), checkpoint).map_err(refused)?;
                    Some(engine)
                }
                None => None,
            };
            // Training or finished follows from the steps; a divergence or a stop stays.
            let mut session = Session::resume(run, data, first_step + history.len());
            session.first_step = first_step;
            session.history = history;
            if let RunStatus::Diverged { .. }
            | RunStatus::Stopped { .. }
            | RunStatus::Halted { .. } = status
            {
                session.status = status;
            }
            let mut entry = RunEntry::new(id, label, requested, session);
            entry.hidden = hidden;
            entry.engine = engine;
            lab.runs.push(entry);
        }
        match tokenizer {
            Some(Ok(tokenizer)) => lab.set_tokenizer(Some(Rc::new(tokenizer))),
            Some(Err(refused)) => {
                let name = lab
                    .runs
                    .last()
                    .map(|run| run.name(Lang::En))
                    .unwrap_or_default();
                lab.tokenizer_not_restored = Some(format!(
                    "{name}'s tokenizer.json was not restored ({refused}): its text goes through \
                     its data's tokenizer"
                ));
            }
            None => {}
        }
        if let Some(experiment) = saved.experiment {
            lab.reopen_experiment(experiment)?;
        }
        lab.start_if_changed(None);
        Ok(lab)
    }

    /// What a reload brought back, for the notice: "Restored 3 runs kept in this browser; run
    /// 3 continues from step 120 when you press play." (and what came back of the experiment).
    pub fn restored_notice(&self) -> String {
        self.reopened_notice(Reopened::Kept)
    }

    /// What came back, and from where: the runs, how the newest continues, and the experiment.
    pub fn reopened_notice(&self, from: Reopened) -> String {
        let count = self.runs.len();
        let runs = if count == 1 { "run" } else { "runs" };
        let newest = match self.runs.last() {
            Some(run) if self.training_run().is_some() => format!(
                "; {} continues from step {} when you press play",
                run.name(Lang::En),
                run.session.steps_done()
            ),
            Some(run) if run.engine.is_none() => {
                format!(
                    "; {}'s parameters {}: Reset trains it again",
                    run.name(Lang::En),
                    from.no_parameters()
                )
            }
            _ => String::new(),
        };
        let tokenizer = (self.tokenizer_not_restored.as_ref())
            .map_or_else(String::new, |text| format!("; {text}"));
        let experiment = self
            .kept_experiment_notice()
            .map_or_else(String::new, |text| format!("; {text}"));
        format!(
            "Restored {count} {runs} {}{newest}{tokenizer}{experiment}.",
            from.words()
        )
    }
}

/// Where reopened runs came from, for the notice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reopened {
    /// The browser's storage, at a reload.
    Kept,
    /// A shared session's link.
    Link,
    /// A session file.
    File,
}

impl Reopened {
    fn words(self) -> &'static str {
        match self {
            Self::Kept => "kept in this browser",
            Self::Link => "from the shared link",
            Self::File => "from the session file",
        }
    }

    /// Why the newest run came back without its parameters.
    fn no_parameters(self) -> String {
        match self {
            Self::Kept => format!(
                "were not kept (they are kept up to {} MiB, on WebGPU from step {} on)",
                super::store::CHECKPOINT_CAP >> 20,
                super::RESUME_EVERY
            ),
            Self::Link | Self::File => "do not travel in a shared session".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::checkpoints::tests::{fixture, hf_folder};
    use crate::lab::checkpoints::CheckpointOf;
    use crate::lab::page_defaults;
    use crate::lab::store::{self, checkpoint_file, Kept};
    use crate::lab::tests::{clock, settings};

    /// The newest run's checkpoint file, as the page keeps it.
    fn newest_file(lab: &Lab) -> Vec<u8> {
        match lab.runs.last().unwrap().checkpoint().unwrap() {
            CheckpointOf::Ready(checkpoint) => checkpoint_file(&checkpoint).unwrap(),
            CheckpointOf::Pending { .. } => panic!("the CPU engine's state is ready"),
        }
    }

    #[test]
    fn a_reopened_lab_has_every_run_and_continues_the_newest_where_it_stood() {
        let url = settings(&[("train.steps", "12"), ("train.eval_interval", "4")]);
        let mut lab = Lab::new(page_defaults(), &url, None);
        let now = clock();
        while lab.train(1.0, &now) > 0 {}
        lab.change("model.qk_norm", "true");
        lab.toggle_hidden(1);
        for _ in 0..5 {
            lab.train(0.0, &now);
        }
        let steps = lab.runs[1].session.steps_done();
        assert!((1..12).contains(&steps), "{steps}");
        let json = lab.saved_runs().to_json();
        let restored = store::restore(&json, Some(&newest_file(&lab))).unwrap();
        let mut qk_url = url.clone();
        qk_url.extend(settings(&[("model.qk_norm", "true")]));
        let mut back = Lab::reopen(page_defaults(), &qk_url, None, restored).unwrap();
        assert_eq!(
            back.runs.len(),
            2,
            "the link's settings are the newest run's: no new run"
        );
        for (a, b) in back.runs.iter().zip(&lab.runs) {
            assert_eq!(
                (a.id, a.name(Lang::En), a.hidden),
                (b.id, b.name(Lang::En), b.hidden)
            );
            assert_eq!(a.session.history, b.session.history);
            assert_eq!(a.session.status, b.session.status);
        }
        assert_eq!(back.engines_alive(), 1);
        assert_eq!(
            back.restored_notice(),
            format!(
                "Restored 2 runs kept in this browser; run 2: +QK-norm continues from step \
                 {steps} when you press play."
            )
        );
        // Both continue alike: the restored engine holds the same parameters and moments.
        while lab.train(1.0, &now) > 0 {}
        while back.train(1.0, &now) > 0 {}
        let (a, b) = (&lab.runs[1].session.history, &back.runs[1].session.history);
        assert_eq!(a.len(), 12);
        assert_eq!(
            a.iter().map(|r| r.loss).collect::<Vec<_>>(),
            b.iter().map(|r| r.loss).collect::<Vec<_>>()
        );
        // The next run gets the next id.
        back.change("train.lr", "0.01");
        assert_eq!(back.newest_id(), Some(3));
    }

    #[test]
    fn without_a_checkpoint_the_newest_stays_where_it_stood_and_a_link_starts_a_run() {
        let url = settings(&[("train.steps", "12")]);
        let mut lab = Lab::new(page_defaults(), &url, None);
        lab.train(0.0, &clock());
        let restored = store::restore(&lab.saved_runs().to_json(), None).unwrap();
        let back = Lab::reopen(page_defaults(), &url, None, restored.clone()).unwrap();
        assert_eq!(back.engines_alive(), 0);
        assert!(back.training_run().is_none());
        assert!(back.restored_notice().contains("parameters were not kept"));
        let other = settings(&[("train.steps", "12"), ("train.lr", "0.01")]);
        let linked = Lab::reopen(page_defaults(), &other, None, restored).unwrap();
        assert_eq!(
            linked.runs.len(),
            2,
            "the link's configuration trains as a new run"
        );
        assert!(linked.training_run().is_some());
    }

    /// What the browser keeps of `lab` (ui::saved's keep, on the CPU engine).
    fn kept(lab: &Lab) -> Kept {
        Kept {
            runs: lab.saved_runs().to_json(),
            checkpoint: Some(newest_file(lab)),
            tokenizer: lab.kept_tokenizer().map(str::to_owned),
        }
    }

    fn reopened(lab: &Lab, kept: &Kept) -> Lab {
        let restored = store::restore_kept(kept).unwrap();
        Lab::reopen(page_defaults(), &lab.url_settings(), None, restored).unwrap()
    }

    /// "Hello world" in `run`'s text tokenizer.
    fn hello_ids(run: &RunEntry) -> Vec<u32> {
        run.text_tokenizer().unwrap().encode("Hello world").unwrap()
    }

    /// Issue 14: an imported model's tokenizer.json comes back with its run, so it reads text
    /// as before the reload, not with the data's characters.
    #[test]
    fn an_imported_models_tokenizer_comes_back_after_a_reload() {
        let (json, hello) = fixture("llama3");
        let mut lab = Lab::new(page_defaults(), &[], None);
        lab.open_checkpoint(&hf_folder(450, &json)).unwrap();
        lab.train(0.0, &clock());
        assert_eq!(hello_ids(&lab.runs[1]), hello);
        let kept = kept(&lab);
        assert_eq!(kept.tokenizer.as_deref(), Some(json.as_str()));
        let back = reopened(&lab, &kept);
        let imported = &back.runs[1];
        assert_eq!(imported.name(Lang::En), lab.runs[1].name(Lang::En));
        assert_eq!(hello_ids(imported), hello);
        assert!(!back.restored_notice().contains("tokenizer"));
        // Without it (before issue 14's fix) the run read with the data's characters.
        let without = Kept {
            tokenizer: None,
            ..kept.clone()
        };
        assert_ne!(hello_ids(&reopened(&lab, &without).runs[1]), hello);
    }

    /// A kept tokenizer.json that no longer reads, or is not the newest run's, is refused on
    /// its own: the runs and the checkpoint come back, and the notice says why.
    #[test]
    fn a_kept_tokenizer_that_does_not_fit_is_refused_and_nothing_else_is_lost() {
        let (json, hello) = fixture("llama3");
        let (larger, _) = fixture("llama2");
        let mut lab = Lab::new(page_defaults(), &[], None);
        lab.open_checkpoint(&hf_folder(450, &json)).unwrap();
        let kept = kept(&lab);
        let cases = [
            ("{\"model\": 1", "tokenizer.json: json: EOF while parsing"),
            (
                larger.as_str(),
                "tokenizer.json: its token ids reach 558, beyond the model's vocabulary of 450",
            ),
        ];
        for (tokenizer, reason) in cases {
            let corrupt = Kept {
                tokenizer: Some(tokenizer.into()),
                ..kept.clone()
            };
            let restored = store::restore_kept(&corrupt).unwrap();
            assert!(restored.checkpoint.is_some(), "{reason}");
            let refused = restored.tokenizer.clone().unwrap().unwrap_err().0;
            assert!(
                refused.starts_with(&format!("the newest run's tokenizer: {reason}")),
                "{refused}"
            );
            let back = Lab::reopen(page_defaults(), &lab.url_settings(), None, restored).unwrap();
            assert_eq!(back.runs[1].name(Lang::En), lab.runs[1].name(Lang::En));
            assert!(back.runs[1].tokenizer.is_none());
            assert_ne!(hello_ids(&back.runs[1]), hello);
            let notice = back.restored_notice();
            assert!(
                notice.contains(&format!(
                    "; run 2: opened LlamaForCausalLM's tokenizer.json was not restored \
                     ({refused}): its text goes through its data's tokenizer"
                )),
                "{notice}"
            );
        }
    }

    #[test]
    fn saves_are_due_on_changes_and_every_so_often_while_training() {
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "50")]), None);
        let now = clock();
        let first = lab.save_mark();
        assert!(!first.due(&first, false, 100.0), "nothing changed");
        lab.train(0.0, &now);
        let stepped = lab.save_mark();
        assert!(!stepped.due(&first, true, 1.0), "steps only: waits");
        assert!(stepped.due(&first, true, SAVE_EVERY_SECONDS));
        assert!(stepped.due(&first, false, 1.0), "paused: at once");
        lab.toggle_hidden(1);
        assert!(lab.save_mark().due(&stepped, true, 1.0), "hidden: at once");
        lab.change("train.lr", "0.01");
        assert!(
            lab.save_mark().due(&stepped, true, 1.0),
            "a new run: at once"
        );
    }
}
