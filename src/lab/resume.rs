//! Resuming a run on another engine, after a lost GPU device (a projector plugged in, a driver
//! reset, the browser reclaiming the GPU) or when the visitor switches engines: the training
//! run keeps in-memory resume points (its parameters and AdamW state with the step they belong
//! to) taken every [`RESUME_EVERY`] steps, and the run continues on the other engine from its
//! newest resume point. The data needs no saving: a step's batch, learning rate and dropout
//! masks follow from the step number and the seed, so the resumed run trains exactly the steps
//! it would have. The records after the resume point are dropped and trained again, so the
//! charts show each step once. An experiment's lanes (`lab::lockstep`) keep resume points
//! each, and move with the run.

use std::rc::Rc;

use super::checkpoints::{checkpoint_of, restore};
use super::engine_choice::{self, EngineChoice};
use super::lockstep::PageExperiment;
use super::{engine, Lab, Read, RunEntry};
use crate::checkpoint::Checkpoint;
use crate::contract::engine::now;
use crate::contract::{Engine, EngineError, EngineState};
use crate::gpu::GpuContext;
use crate::train::lockstep::Lane;
use crate::train::run::RunError;
use crate::train::session::{RunStatus, Session};

/// A resume point is taken whenever this many steps were submitted since the last one: a lost
/// device costs at most this many steps. A point at the page's GPU size (209,600 parameters)
/// holds 2.5 MB (parameters and two moments) and took 1.3 ms to read back natively on lavapipe,
/// 1.8 ms to copy on the CPU engine: next to 50 steps, nothing.
pub const RESUME_EVERY: usize = 50;

/// Resume points a run keeps. On the GPU a point is read as of the steps *submitted*, so the
/// newest can be a few steps ahead of the recorded history; the one before it never is.
const RESUME_POINTS: usize = 2;

/// A run's (or an experiment lane's) newest states to continue from, oldest first, and the
/// step of the last one asked for.
pub(super) struct ResumePoints {
    points: Vec<Checkpoint>,
    asked: usize,
}

impl ResumePoints {
    /// None yet; the first is due [`RESUME_EVERY`] steps after `first_step`.
    pub(super) fn new(first_step: usize) -> Self {
        Self {
            points: Vec::new(),
            asked: first_step,
        }
    }

    /// Whether a point is due with `submitted` steps submitted; if so, it counts as asked.
    fn due(&mut self, submitted: usize) -> bool {
        let due = submitted >= self.asked + RESUME_EVERY;
        if due {
            self.asked = submitted;
        }
        due
    }

    /// Keeps `point` as the newest (dropping the oldest beyond [`RESUME_POINTS`]).
    pub(super) fn keep(&mut self, point: Checkpoint) {
        self.points.push(point);
        if self.points.len() > RESUME_POINTS {
            self.points.remove(0);
        }
    }

    /// The newest point at most as far as `recorded` steps.
    fn newest(&self, recorded: usize) -> Option<&Checkpoint> {
        (self.points.iter().rev()).find(|point| point.step <= recorded)
    }
}

/// Opens a new engine for `session`'s run on `gpu` (None: the CPU engine) and continues from
/// the newest of `points` its history has reached, else `opened` (the checkpoint the run was
/// opened from), else step 0 from the seed: the records after that step go. Returns the engine
/// and the step.
fn resume_session(
    session: &mut Session,
    points: &mut ResumePoints,
    opened: Option<&Checkpoint>,
    gpu: Option<&Rc<GpuContext>>,
) -> Result<(Box<dyn Engine>, usize), RunError> {
    let mut engine = engine::open_engine(&session.run, gpu)?;
    let step = match points.newest(session.steps_done()).or(opened) {
        Some(point) => {
            restore(engine.as_mut(), point)?;
            point.step
        }
        None => 0,
    };
    session.rewind(step);
    points.points.retain(|point| point.step <= step);
    points.asked = step;
    Ok((engine, step))
}

impl RunEntry {
    /// The step of the newest resume point the run could continue from now, if any: one at
    /// most as far as the recorded history, else the checkpoint it was opened from.
    pub fn resume_step(&self) -> Option<usize> {
        self.resume_from().map(|point| point.step)
    }

    /// The newest resume point the run could continue from now (see [`RunEntry::resume_step`]).
    pub fn resume_from(&self) -> Option<&Checkpoint> {
        (self.resume.newest(self.session.steps_done())).or(self.opened.as_deref())
    }

    /// Opens a new engine on `gpu` (None: the CPU engine) and continues from the newest resume
    /// point (or the opened checkpoint, or step 0 from the seed); returns that step.
    fn resume_on(&mut self, gpu: Option<&Rc<GpuContext>>) -> Result<usize, RunError> {
        let opened = self.opened.as_deref();
        let (engine, step) = resume_session(&mut self.session, &mut self.resume, opened, gpu)?;
        self.snapshots.retain(|(at, _)| *at <= step);
        self.scrub = None;
        self.engine = Some(engine);
        Ok(step)
    }
}

impl PageExperiment {
    /// Starts reading the state of each lane that trains when [`RESUME_EVERY`] steps were
    /// submitted since its last resume point: kept at once when the engine has it (the CPU
    /// engine); else the reads to await, handed back through `Lab::read_done`.
    pub(super) fn take_resume_points(&mut self) -> Vec<Read> {
        let mut started = Vec::new();
        for (index, lane) in self.lockstep.lanes.iter().enumerate() {
            let submitted = lane.session.next_step(lane.engine.as_ref());
            if lane.training() && self.resume[index].due(submitted) {
                started.push((index, submitted, lane.engine.start_state()));
            }
        }
        let mut reads = Vec::new();
        for (lane, step, mut state) in started {
            match now(&mut state) {
                Some(state) => self.lane_state_read(lane, step, state),
                None => reads.push(Read::LaneResumePoint(lane, step, state)),
            }
        }
        reads
    }

    /// Keeps lane `lane`'s state as of `step` as its newest resume point; a failed read stops
    /// the lane alone, as a failed validation does.
    pub(super) fn lane_state_read(
        &mut self,
        lane: usize,
        step: usize,
        state: Result<EngineState, EngineError>,
    ) {
        let Some(entry) = self.lockstep.lanes.get_mut(lane) else {
            return;
        };
        match state {
            Ok(state) => {
                let point = checkpoint_of(entry.session.run.clone(), step, state);
                self.resume[lane].keep(point);
            }
            Err(_) => entry.session.stop(),
        }
    }

    /// Moves the lanes to new engines on `gpu` (None: the CPU engine) when any was training,
    /// or was stopped by the engine that failed: those continue from their newest resume point
    /// (step 0 from the seed without one); lanes that had ended keep their histories and get an
    /// engine that takes no steps. A resuming lane whose engine cannot be opened stops, with
    /// the reason. Returns where they went on (also shown in the banner), "" when nothing
    /// moved.
    fn resume_lanes(&mut self, gpu: Option<&Rc<GpuContext>>) -> String {
        let unfinished = |lane: &Lane| {
            matches!(
                lane.session.status,
                RunStatus::Training | RunStatus::Stopped { .. }
            )
        };
        if self.stopped || !self.lockstep.lanes.iter().any(unfinished) {
            return String::new();
        }
        let mut steps = Vec::new();
        let mut refused = Vec::new();
        for (lane, points) in self.lockstep.lanes.iter_mut().zip(&mut self.resume) {
            let resuming = unfinished(lane);
            let opened = match resuming {
                true => {
                    (resume_session(&mut lane.session, points, None, gpu)).map(|(engine, step)| {
                        steps.push(step);
                        engine
                    })
                }
                false => engine::open_engine(&lane.session.run, gpu),
            };
            match opened {
                Ok(opened) => lane.engine = opened,
                // An ended lane keeps its status, so its numbers stay final.
                Err(_) if !resuming => {}
                Err(error) => {
                    lane.session.stop();
                    refused.push(error.to_string());
                }
            }
        }
        steps.sort_unstable();
        steps.dedup();
        let engine = match gpu {
            Some(_) => "the WebGPU engine",
            None => "the CPU engine",
        };
        let mut resumed = match steps.as_slice() {
            [] => "The lanes could not go on".to_string(),
            [0] => format!(
                "The lanes started again from step 0 on {engine}: none had kept a state yet"
            ),
            [step] => format!("The lanes resumed from step {step} on {engine}"),
            _ => {
                let steps: Vec<String> = steps.iter().map(usize::to_string).collect();
                format!(
                    "The lanes resumed from steps {} on {engine}",
                    steps.join(", ")
                )
            }
        };
        if !refused.is_empty() {
            resumed += &format!(" (stopped: {})", refused.join("; "));
        }
        self.resumed = Some(resumed.clone());
        resumed
    }
}

impl Lab {
    /// Starts reading the training run's state when [`RESUME_EVERY`] steps were submitted since
    /// its last resume point: kept at once on the CPU engine; on the GPU, the read to await.
    pub(super) fn take_resume_point(&mut self) -> Option<Read> {
        let run = self.training_mut()?;
        let engine = run.engine.as_deref()?;
        let step = run.session.next_step(engine);
        if !run.resume.due(step) {
            return None;
        }
        let state = engine.start_state();
        self.read_now(Read::ResumePoint(step, state))
    }

    /// The device was lost (`reason`, as the browser said it): the page now has `device` (a
    /// new one, or none). When the lab trained on the lost device, new runs and the newest run,
    /// if it was unfinished, continue on `device` (None: the CPU engine) from its newest resume
    /// point, with the notice saying so. A finished run keeps its history but not its engine
    /// (its state was on the lost device). Reads still on their way from the lost device belong
    /// to an older [`Lab::engine_generation`] and are dropped. On the CPU engine by choice,
    /// nothing trained on it.
    pub fn resume_after_device_loss(&mut self, device: Option<Rc<GpuContext>>, reason: &str) {
        let on_cpu_by_choice = self.device.is_some() && self.gpu.is_none();
        self.device = device;
        if on_cpu_by_choice {
            return;
        }
        self.gpu = self.device.clone();
        let engine = if self.gpu.is_some() {
            "a new WebGPU device"
        } else {
            "the CPU engine (no new GPU device could be had)"
        };
        let resumed = self.resume_newest_run();
        self.engine_notice = Some(format!(
            "The GPU was reset ({reason}); training goes on with {engine}.{resumed}"
        ));
    }

    /// The visitor chose `choice` (see `engine_choice`): new runs train on the engine it gives
    /// with the page's device, and the newest run, if unfinished, continues there from its
    /// newest resume point, with the notice saying so. Returns whether the engine changed.
    pub fn choose_engine(&mut self, choice: EngineChoice) -> bool {
        self.rejected
            .retain(|(key, _, _)| key != engine_choice::URL_KEY);
        self.engine_choice = choice;
        let decision = engine_choice::decide(choice, self.device.as_ref().map(|d| &d.adapter));
        self.engine_why = decision.why;
        if decision.gpu == self.gpu.is_some() {
            return false;
        }
        self.gpu = self.device.clone().filter(|_| decision.gpu);
        let engine = if decision.gpu { "WebGPU" } else { "CPU" };
        let resumed = self.resume_newest_run();
        self.engine_notice = Some(format!("Switched to the {engine} engine.{resumed}"));
        true
    }

    /// Replaces the engines with ones on `self.gpu` (None: the CPU engine): the newest run, if
    /// unfinished, continues from its newest resume point (a finished one drops its engine),
    /// and so do the experiment's lanes. Returns the sentences saying where they resumed (""
    /// when none did).
    fn resume_newest_run(&mut self) -> String {
        self.engine_generation += 1;
        let lanes = match &mut self.experiment {
            Some(experiment) => experiment.resume_lanes(self.gpu.as_ref()),
            None => String::new(),
        };
        let lanes = match lanes.is_empty() {
            true => lanes,
            false => format!(" {lanes}."),
        };
        self.resume_run() + &lanes
    }

    /// The newest run's part of [`Lab::resume_newest_run`].
    fn resume_run(&mut self) -> String {
        let Some(run) = self.runs.last_mut() else {
            return String::new();
        };
        let unfinished = matches!(
            run.session.status,
            RunStatus::Training | RunStatus::Stopped { .. }
        );
        if !unfinished {
            run.engine = None;
            return String::new();
        }
        match run.resume_on(self.gpu.as_ref()) {
            Ok(step) => {
                if self.problem.as_ref().is_some_and(|p| p.field == "engine") {
                    self.problem = None;
                }
                format!(" Resumed run {} from step {step}.", run.id)
            }
            Err(error) => {
                run.engine = None;
                run.session.stop();
                self.problem = Some(error);
                String::new()
            }
        }
    }

    /// Bumped whenever the engines are replaced after a lost device: a read started before
    /// belongs to an engine that is gone.
    pub fn engine_generation(&self) -> usize {
        self.engine_generation
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::i18n::Lang;
    use crate::lab::page_defaults;
    use crate::lab::tests::clock;

    /// A tiny run on the CPU engine with dropout (whose masks follow the step) and a schedule
    /// (whose learning rate does).
    fn lab(steps: usize) -> Lab {
        let settings: Vec<(String, String)> = [
            ("train.steps", steps.to_string()),
            ("model.d_model", "16".into()),
            ("model.n_layers", "1".into()),
            ("model.n_heads", "2".into()),
            ("model.n_kv_heads", "2".into()),
            ("model.context_len", "16".into()),
            ("train.seq_len", "16".into()),
            ("train.batch_size", "4".into()),
            ("train.schedule", "cosine".into()),
            ("train.warmup_steps", "10".into()),
            ("model.dropout.resid", "0.1".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let lab = Lab::new(page_defaults(), &settings, None);
        assert!(lab.problem.is_none(), "{:?}", lab.problem);
        lab
    }

    fn train_until(lab: &mut Lab, steps: usize) {
        let now = clock();
        while lab.runs[0].session.steps_done() < steps {
            assert!(lab.train(0.0, &now) > 0, "the run trains");
        }
    }

    fn losses(lab: &Lab) -> Vec<f32> {
        lab.runs[0].session.history.iter().map(|r| r.loss).collect()
    }

    /// A run resumed from its resume point after a lost device trains the same steps as one
    /// that never stopped: same losses (bit for bit: the same CPU code on the same state and
    /// batches), same history before the point, each step recorded once.
    #[test]
    fn a_resumed_run_continues_with_the_losses_of_an_uninterrupted_one() {
        let total = 2 * RESUME_EVERY + 20;
        let mut uninterrupted = lab(total);
        train_until(&mut uninterrupted, total);

        let mut resumed = lab(total);
        let lost_at = 2 * RESUME_EVERY + 7;
        train_until(&mut resumed, lost_at);
        let before = losses(&resumed);
        assert_eq!(resumed.runs[0].resume_step(), Some(2 * RESUME_EVERY));
        resumed.resume_after_device_loss(None, "destroyed");
        let notice = resumed.engine_notice.clone().unwrap();
        let step = 2 * RESUME_EVERY;
        assert!(
            notice.starts_with("The GPU was reset (destroyed)"),
            "{notice}"
        );
        assert!(
            notice.ends_with(&format!("Resumed run 1 from step {step}.")),
            "{notice}"
        );
        assert_eq!(resumed.runs[0].session.steps_done(), 2 * RESUME_EVERY);
        assert_eq!(losses(&resumed)[..], before[..2 * RESUME_EVERY]);
        train_until(&mut resumed, total);

        let (a, b) = (losses(&uninterrupted), losses(&resumed));
        assert_eq!(b.len(), total, "each step once");
        assert_eq!(a, b);
        let steps: Vec<usize> = resumed.runs[0]
            .session
            .history
            .iter()
            .map(|r| r.step)
            .collect();
        assert_eq!(steps, (0..total).collect::<Vec<_>>());
    }

    /// Before its first resume point a run starts again from its seed, and a finished run is not
    /// trained again.
    #[test]
    fn without_a_resume_point_the_run_restarts_and_a_finished_run_stays() {
        let mut early = lab(30);
        train_until(&mut early, 10);
        let first = losses(&early);
        early.resume_after_device_loss(None, "unknown");
        assert_eq!(early.runs[0].session.steps_done(), 0);
        train_until(&mut early, 10);
        assert_eq!(losses(&early), first);

        let mut finished = lab(5);
        train_until(&mut finished, 5);
        finished.resume_after_device_loss(None, "unknown");
        assert_eq!(finished.runs[0].session.steps_done(), 5);
        assert!(finished.runs[0].engine.is_none());
        assert!(finished.training_run().is_none());
    }

    /// Each lane's training losses, in the lanes' order.
    fn lane_losses(lab: &Lab) -> Vec<Vec<f32>> {
        let lanes = &lab.experiment.as_ref().unwrap().lockstep.lanes;
        (lanes.iter())
            .map(|l| l.session.history.iter().map(|r| r.loss).collect())
            .collect()
    }

    /// Rounds of the experiment until every lane has `steps` steps.
    fn train_lanes_until(lab: &mut Lab, steps: usize) {
        let now = clock();
        while lane_losses(lab).iter().any(|l| l.len() < steps) {
            assert!(lab.train(0.0, &now) > 0, "the lanes train");
        }
    }

    /// An experiment's lanes resumed after a lost device go on from their resume point, their
    /// histories before it kept, with the losses of lanes that never stopped (bit for bit: the
    /// same CPU code on the same state and batches), each step recorded once.
    #[test]
    fn lanes_resume_from_their_points_with_the_losses_of_uninterrupted_lanes() {
        let total = RESUME_EVERY + 10;
        let started = |steps: usize| {
            let mut lab = lab(steps);
            lab.start_experiment("final-norm").unwrap();
            lab
        };
        let mut uninterrupted = started(total);
        train_lanes_until(&mut uninterrupted, total);

        let mut resumed = started(total);
        train_lanes_until(&mut resumed, RESUME_EVERY + 7);
        let before = lane_losses(&resumed);
        resumed.resume_after_device_loss(None, "destroyed");
        let kept = lane_losses(&resumed);
        assert_eq!(kept.len(), 4);
        for (kept, before) in kept.iter().zip(&before) {
            assert_eq!(
                kept[..],
                before[..RESUME_EVERY],
                "the history to the point stays"
            );
        }
        let said = format!("The lanes resumed from step {RESUME_EVERY} on the CPU engine");
        let notice = resumed.engine_notice.clone().unwrap();
        assert!(notice.ends_with(&format!(" {said}.")), "{notice}");
        let banner = resumed.experiment.as_ref().unwrap().banner(Lang::En);
        assert!(
            banner.ends_with(&format!("2 variants × 2 seeds. {said}")),
            "{banner}"
        );

        train_lanes_until(&mut resumed, total);
        assert_eq!(lane_losses(&resumed), lane_losses(&uninterrupted));
        for lane in &resumed.experiment.as_ref().unwrap().lockstep.lanes {
            let steps: Vec<usize> = lane.session.history.iter().map(|r| r.step).collect();
            assert_eq!(steps, (0..total).collect::<Vec<_>>(), "each step once");
            assert_eq!(lane.session.status, RunStatus::Finished);
        }
    }

    /// Before their first resume point the lanes start again from step 0, and the banner says
    /// so; an experiment the visitor stopped stays where it stopped.
    #[test]
    fn lanes_without_a_point_start_again_and_a_stopped_experiment_stays() {
        let mut early = lab(20);
        early.start_experiment("final-norm").unwrap();
        train_lanes_until(&mut early, 5);
        let first = lane_losses(&early);
        early.resume_after_device_loss(None, "unknown");
        assert!(lane_losses(&early).iter().all(Vec::is_empty));
        let banner = early.experiment.as_ref().unwrap().banner(Lang::En);
        let said =
            "The lanes started again from step 0 on the CPU engine: none had kept a state yet";
        assert!(banner.ends_with(said), "{banner}");
        train_lanes_until(&mut early, 5);
        assert_eq!(lane_losses(&early), first);

        let mut stopped = lab(20);
        stopped.start_experiment("final-norm").unwrap();
        train_lanes_until(&mut stopped, 3);
        stopped.stop_experiment();
        stopped.resume_after_device_loss(None, "unknown");
        let experiment = stopped.experiment.as_ref().unwrap();
        assert!(experiment.resumed.is_none());
        assert!(lane_losses(&stopped).iter().all(|l| l.len() == 3));
        assert!(!stopped.experiment_training());
    }

    /// The URL keeps a chosen engine (auto, the default, is left out) and names a bad one as
    /// refused, while the run trains on; without a device every choice trains on the CPU
    /// engine and says so.
    #[test]
    fn the_engine_choice_lives_in_the_url_and_a_bad_one_is_refused() {
        let setting = |value: &str| vec![("engine".to_string(), value.to_string())];
        let mut chosen = Lab::new(page_defaults(), &setting("gpu"), None);
        assert_eq!(chosen.engine_choice, EngineChoice::Gpu);
        assert!(!chosen.on_gpu());
        assert_eq!(
            chosen.engine_why,
            "Training on the CPU engine: this browser gave no WebGPU adapter."
        );
        assert!(chosen
            .url_settings()
            .contains(&("engine".into(), "gpu".into())));
        assert!(!chosen.choose_engine(EngineChoice::Cpu), "the same engine");
        assert!(chosen
            .url_settings()
            .contains(&("engine".into(), "cpu".into())));
        assert!(!chosen.choose_engine(EngineChoice::Auto));
        assert!(!chosen.url_settings().iter().any(|(key, _)| key == "engine"));

        let mut bad = Lab::new(page_defaults(), &setting("cuda"), None);
        assert_eq!(bad.engine_choice, EngineChoice::Auto);
        assert_eq!(bad.runs.len(), 1, "the run trains on");
        assert_eq!(
            bad.problems(),
            vec![(
                None,
                "engine: \"cuda\" refused: the engine is auto, gpu or cpu".to_string()
            )]
        );
        assert!(bad
            .url_settings()
            .contains(&("engine".into(), "cuda".into())));
        bad.choose_engine(EngineChoice::Cpu);
        assert!(
            bad.problems().is_empty(),
            "a choice replaces the refused value"
        );
    }
}
