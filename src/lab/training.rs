//! The page's training loop, without the page: the CPU engine stepped in place within a time
//! budget, the GPU engine pumped by the page's asynchronous loop with its reads (validation,
//! the shown example's maps, sample tokens) handed back as they arrive. Either way a run goes
//! through `Session::pump`.

use super::*;
use crate::contract::EngineState;

/// Steps the GPU engine keeps in flight: enough to keep it busy while a read-back crosses
/// to the page, few enough that the charts lag by little.
pub const GPU_AHEAD: usize = 3;

/// A read the page's loop awaits for the newest run (on the GPU engine; the CPU engine's reads
/// are there at once and handled in place), and where its result goes.
pub enum Read {
    /// Validation logits of a step.
    Validation(PendingValidation),
    /// Validation logits of a step of the experiment's lane (by index).
    LaneValidation(usize, PendingValidation),
    /// The example's attention probabilities (every layer) and view statistics.
    Example(Vec<u32>, Pending<ForwardViews>),
    /// The logits of the next sample token.
    SampleToken(Pending<Vec<f32>>),
    /// The state as of a step, kept as a resume point (`lab::resume`).
    ResumePoint(usize, Pending<EngineState>),
    /// The state of the experiment's lane (by index) as of a step, kept as its resume point.
    LaneResumePoint(usize, usize, Pending<EngineState>),
}

impl Read {
    /// Awaits the values (the read borrows nothing, so the page can await it between tasks).
    pub async fn wait(self) -> Result<ReadResult, EngineError> {
        Ok(match self {
            Self::Validation(validation) => {
                let (step, logits) = validation.wait().await?;
                ReadResult::Validation { step, logits }
            }
            // Its failure stops the lane, not the run the read is handed back with.
            Self::LaneValidation(lane, validation) => ReadResult::LaneValidation {
                lane,
                validation: validation.wait().await,
            },
            Self::Example(tokens, forward) => {
                ReadResult::Example(Example::new(tokens, forward.await?))
            }
            Self::SampleToken(read) => ReadResult::SampleToken(read.await?),
            Self::ResumePoint(step, state) => ReadResult::ResumePoint(step, state.await?),
            // Its failure stops the lane, not the run the read is handed back with.
            Self::LaneResumePoint(lane, step, state) => ReadResult::LaneResumePoint {
                lane,
                step,
                state: state.await,
            },
        })
    }
}

/// A [`Read`]'s values, handed back with [`Lab::read_done`].
pub enum ReadResult {
    Validation {
        step: usize,
        logits: Vec<Vec<f32>>,
    },
    /// (step, logits) of a validation of the experiment's lane, or why the read failed.
    LaneValidation {
        lane: usize,
        validation: Result<(usize, Vec<Vec<f32>>), EngineError>,
    },
    Example(Example),
    SampleToken(Vec<f32>),
    ResumePoint(usize, EngineState),
    /// The state of the experiment's lane as of `step`, or why the read failed.
    LaneResumePoint {
        lane: usize,
        step: usize,
        state: Result<EngineState, EngineError>,
    },
}

impl Lab {
    /// Steps the training run, if its engine completes at once (the CPU engine), while another
    /// step, as long as the last one, still fits in `budget_seconds` by `now` (always at least
    /// one step); a step that evaluates comes only first, so that its extra forward passes never
    /// add to others. Returns the number of steps.
    pub fn train(&mut self, budget_seconds: f64, now: &dyn Fn() -> f64) -> usize {
        self.restart_kept_experiment();
        if self.experiment_training() {
            return self.train_experiment(budget_seconds, now);
        }
        let started = now();
        let mut steps = 0;
        while let Some(run) = self.training_mut() {
            let Some(engine) = run.engine.as_deref_mut() else {
                break;
            };
            if !engine.completes_at_once()
                || (steps > 0 && run.session.evaluates_at(run.session.steps_done()))
            {
                break;
            }
            let before = now();
            if let Err(error) = run.session.pump(engine, now, 1, 1) {
                self.problem = Some(engine_failure(&mut run.session, &error));
                break;
            }
            steps += 1;
            self.take_resume_point();
            let after = now();
            if after - started + (after - before) > budget_seconds {
                break;
            }
        }
        steps
    }

    /// Whether the newest run's engine works asynchronously (the GPU engine) and has steps left
    /// or results on their way: the page's asynchronous loop runs while it does.
    pub fn gpu_active(&self) -> bool {
        if let Some(experiment) = self.gpu_experiment() {
            return experiment.training() || experiment.busy();
        }
        self.runs.last().is_some_and(|run| {
            run.engine.as_deref().is_some_and(|engine| {
                !engine.completes_at_once()
                    && (run.session.status == RunStatus::Training || run.session.busy(engine))
            })
        })
    }

    /// Records the newest run's arrived steps and submits up to `limit` more (keeping
    /// [`GPU_AHEAD`] in flight); returns the validation reads to await. An error of the device
    /// stops the run and is shown as the problem.
    pub fn gpu_pump(&mut self, now: &dyn Fn() -> f64, limit: usize) -> Vec<Read> {
        self.restart_kept_experiment();
        if self.gpu_experiment().is_some() {
            let Some(experiment) = self.experiment.as_mut() else {
                return Vec::new();
            };
            // A round whatever the limit: the lanes stay together.
            let pending = experiment.pump(now);
            let mut reads: Vec<Read> = (pending.into_iter())
                .map(|(lane, v)| Read::LaneValidation(lane, v))
                .collect();
            reads.extend(experiment.take_resume_points());
            return reads;
        }
        let Some(run) = self.runs.last_mut() else {
            return Vec::new();
        };
        let Some(engine) = run.engine.as_deref_mut() else {
            return Vec::new();
        };
        match run.session.pump(engine, now, GPU_AHEAD, limit) {
            Ok(validations) => {
                let mut reads: Vec<Read> = validations.into_iter().map(Read::Validation).collect();
                reads.extend(self.take_resume_point());
                reads
            }
            Err(error) => {
                self.problem = Some(engine_failure(&mut run.session, &error));
                Vec::new()
            }
        }
    }

    /// Resolves when the newest run's oldest step in flight has its report; None when no step
    /// is in flight (the loop then waits for other reads by yielding to the browser).
    pub fn gpu_next_report(&self) -> Option<Pending<()>> {
        if let Some(experiment) = self.gpu_experiment() {
            let mut engines = experiment.lockstep.lanes.iter().map(|l| &l.engine);
            return Some(engines.find(|e| e.in_flight() > 0)?.next_report());
        }
        let engine = self.runs.last()?.engine.as_deref()?;
        (engine.in_flight() > 0).then(|| engine.next_report())
    }

    /// Hands back the values of a [`Read`] of run `id` (ignored if the run is gone). A failed
    /// read stops the run, keeping its history, and is shown as the problem.
    pub fn read_done(&mut self, id: usize, result: Result<ReadResult, EngineError>) {
        // An experiment's lane reads go to its lane, whatever the run.
        let result = match (result, &mut self.experiment) {
            (Ok(ReadResult::LaneValidation { lane, validation }), Some(experiment)) => {
                return experiment.validated(lane, validation);
            }
            (Ok(ReadResult::LaneResumePoint { lane, step, state }), Some(experiment)) => {
                return experiment.lane_state_read(lane, step, state);
            }
            (result, _) => result,
        };
        let Some(run) = self.runs.iter_mut().find(|r| r.id == id) else {
            return;
        };
        let result = match result {
            Ok(result) => result,
            Err(error) => {
                self.problem = Some(engine_failure(&mut run.session, &error));
                return;
            }
        };
        match result {
            ReadResult::Validation { step, logits } => run.session.validated(step, &logits),
            // Handled above; without an experiment, nothing to do.
            ReadResult::LaneValidation { .. } | ReadResult::LaneResumePoint { .. } => {}
            ReadResult::Example(example) => run.keep_example(example),
            ReadResult::ResumePoint(step, state) => {
                let point = checkpoints::checkpoint_of(run.session.run.clone(), step, state);
                run.resume.keep(point);
            }
            ReadResult::SampleToken(logits) => {
                let mut rng = ChaCha8Rng::seed_from_u64(run.sample_seed());
                let token = sample_token(&logits, SAMPLE_TEMPERATURE, 0, &mut rng);
                run.add_sample_tokens(&[token]);
            }
        }
    }

    /// Handles `read` of the newest run at once if its values are there (the CPU engine's
    /// always are); else returns it for the page to await.
    pub(super) fn read_now(&mut self, read: Read) -> Option<Read> {
        let id = self.newest_id()?;
        let ready = match read {
            Read::Example(tokens, mut forward) => match now(&mut forward) {
                Some(result) => result.map(|f| ReadResult::Example(Example::new(tokens, f))),
                None => return Some(Read::Example(tokens, forward)),
            },
            Read::SampleToken(mut logits) => match now(&mut logits) {
                Some(result) => result.map(ReadResult::SampleToken),
                None => return Some(Read::SampleToken(logits)),
            },
            Read::ResumePoint(step, mut state) => match now(&mut state) {
                Some(result) => result.map(|state| ReadResult::ResumePoint(step, state)),
                None => return Some(Read::ResumePoint(step, state)),
            },
            lane_or_validation @ (Read::Validation(_)
            | Read::LaneValidation(..)
            | Read::LaneResumePoint(..)) => return Some(lane_or_validation),
        };
        self.read_done(id, ready);
        None
    }

    /// Recomputes the attention maps and norms of the newest run (one forward of the example:
    /// the visitor's, else the first validation sequence): at once on the CPU engine; on the
    /// GPU, returns the read to await.
    pub fn refresh_attention(&mut self) -> Option<Read> {
        let tokens = self
            .probe
            .as_deref()
            .and_then(|input| self.probe_tokens(input).ok())
            .or_else(|| {
                let batch = self.runs.last()?.session.display_batch();
                Some(batch.inputs[..batch.seq].to_vec())
            })?;
        let run = self.runs.last_mut()?;
        let forward = run.engine.as_deref_mut()?.start_views(&tokens);
        self.read_now(Read::Example(tokens, forward))
    }

    /// Adds to the newest run's text sample, starting a new sample every [`SAMPLE_EVERY`]
    /// steps: a few tokens at once on the CPU engine; on the GPU, returns the read of the next
    /// token's logits. Does nothing for task data.
    pub fn extend_sample(&mut self) -> Option<Read> {
        for _ in 0..SAMPLE_CHUNK {
            let run = self.runs.last_mut()?;
            if !run.sample_pending() {
                return None;
            }
            let logits = start_next_token(run.engine.as_deref_mut()?, &run.sample_tokens);
            if let Some(read) = self.read_now(Read::SampleToken(logits)) {
                return Some(read);
            }
        }
        None
    }
}
