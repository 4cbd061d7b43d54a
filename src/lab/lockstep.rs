//! Lecture experiments in the page, in lockstep (`train::lockstep`): one click opens an engine
//! for every variant at every seed and trains them together, one step each in turn, so the
//! curves grow side by side; the same batches and the same initial values in every tensor the
//! variants share, at each seed. The numbers and the verdict come from `train::evidence`, as
//! in `archlab experiment`'s report; `lab::experiment_views` draws and words them.

use super::i18n::{self, Lang};
use super::resume::ResumePoints;
use super::tour_text::fill;
use super::{engine, names_text, page_text, Lab};
use crate::contract::EngineError;
use crate::model::numbers::bytes;
use crate::model::MemoryBudget;
use crate::train::evidence::{self, Judged, Variant};
use crate::train::experiments::{Experiment, LossUnit};
use crate::train::lockstep::{self, Lane, Lockstep};
use crate::train::run::{value_text, RunConfig, RunError};
use crate::train::session::{PendingValidation, RunStatus, Session};
use crate::train::sweep::{lr_text, PAGE_VARIANTS};

/// The visitor's settings an experiment starts from where they differ from this engine's
/// defaults: the scale, so that a page made small (the tests' tiny model) trains a small
/// experiment. The experiment's own settings apply over them: they are what it compares.
pub const KEPT_SCALE: [&str; 7] = [
    "model.d_model",
    "model.n_layers",
    "model.n_heads",
    "model.n_kv_heads",
    "model.context_len",
    "train.batch_size",
    "train.seq_len",
];

/// The visitor's settings applied over every variant where they differ from the defaults: the
/// run length, so that `?train.steps=20` gives a quick look, as `archlab experiment --set
/// train.steps=20` does.
pub const KEPT_LENGTH: [&str; 1] = ["train.steps"];

/// Each variant's label and configuration.
pub type VariantRuns = Vec<(&'static str, RunConfig)>;

/// The most seeds the page trains each variant over: two, the fewest that give a spread for
/// the verdict, since every seed adds the whole experiment's time again on the one device.
pub const PAGE_SEEDS: usize = 2;

/// What an experiment in the page measures, and so how its lanes are laid out.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A lecture experiment's claims: one lane per variant and seed, variant by variant; each
    /// variant over its seeds is judged by the verdict rule.
    Claims,
    /// The learning-rate sweep (`lab::sweep`): one seed, learning rate by learning rate (in
    /// `lrs`' order) the sweep's page variants (`train::sweep::PAGE_VARIANTS`).
    Sweep { lrs: Vec<f64> },
    /// The visitor's marked runs (`lab::compare`), by id, each a variant (named by `labels`)
    /// over seeds as in `Claims`; no claim, so no verdict.
    Marked {
        ids: Vec<usize>,
        labels: Vec<String>,
    },
}

/// An experiment training (or trained) in lockstep in the page.
pub struct PageExperiment {
    pub experiment: &'static Experiment,
    pub kind: Kind,
    /// Seeds per variant ([`seeds_for`]).
    pub seeds: usize,
    /// The lanes, laid out as `kind` says; each lane's `variant` indexes the experiment's.
    pub lockstep: Lockstep,
    /// Whether the visitor stopped it before its end.
    pub stopped: bool,
    /// Whether it came back (a reload, a shared session) while it trained, without its lanes'
    /// parameters: play restarts it from step 0 (`lab::kept_experiment`).
    pub restarts_on_play: bool,
    /// Each lane's resume points, in the lanes' order (`lab::resume`).
    pub(super) resume: Vec<ResumePoints>,
    /// Where the lanes went on after a lost device or a change of engine, for the banner.
    pub resumed: Option<String>,
    /// The newest run's (id, steps) when the lanes started ([`Lab::charts_show_lanes`]).
    newest_at_start: Option<(usize, usize)>,
}

/// The seeds per variant the page trains: the most, up to [`PAGE_SEEDS`], whose lanes together
/// need at most half of `budget` (the rest stays for the visitor's own run and the page).
/// Refused, with the numbers, when one seed of every variant does not fit.
pub fn seeds_for<L>(runs: &[(L, RunConfig)], budget: &MemoryBudget) -> Result<usize, RunError> {
    let one_seed: f64 = (runs.iter())
        .map(|(_, run)| {
            let need =
                (run.model).memory_need(run.train.batch_size, run.train.seq_len, budget.attention);
            need.total()
        })
        .sum();
    let seeds = (budget.total / 2.0 / one_seed)
        .floor()
        .min(PAGE_SEEDS as f64) as usize;
    if seeds == 0 {
        return Err(RunError::new(
            "experiment",
            format!(
                "its {} variants need {} together, more than half of {} ({})",
                runs.len(),
                bytes(one_seed),
                bytes(budget.total),
                budget.owner
            ),
        ));
    }
    Ok(seeds)
}

impl PageExperiment {
    /// Whether any lane still trains.
    pub fn training(&self) -> bool {
        self.lockstep.training()
    }

    /// The longest run's steps (the variants share `train.steps` unless the experiment sets it).
    pub fn steps(&self) -> usize {
        (self.lockstep.lanes.iter())
            .map(|l| l.session.run.train.steps)
            .max()
            .unwrap_or(0)
    }

    /// What the banner says in `lang`: "experiment norm-type: step 12 of 200, 3 variants × 2 seeds"
    /// (the sweep: "2 variants × 5 learning rates"), then whether it finished or was stopped,
    /// and which lanes diverged.
    pub fn banner(&self, lang: Lang) -> String {
        let words = page_text::of(lang);
        let variants = |n: usize| n.to_string();
        let size = match &self.kind {
            Kind::Claims => fill(
                words.banner_size[0],
                &[
                    ("variants", &variants(self.experiment.variants.len())),
                    ("seeds", &self.seeds.to_string()),
                ],
            ),
            Kind::Sweep { lrs } => fill(
                words.banner_size[1],
                &[
                    ("variants", &variants(PAGE_VARIANTS.len())),
                    ("lrs", &lrs.len().to_string()),
                ],
            ),
            Kind::Marked { ids, .. } => fill(
                words.banner_size[2],
                &[
                    ("variants", &variants(ids.len())),
                    ("seeds", &self.seeds.to_string()),
                ],
            ),
        };
        let (step, steps) = (self.lockstep.step().to_string(), self.steps().to_string());
        let state = if self.training() && self.restarts_on_play {
            fill(words.banner_state[3], &[("step", &step), ("steps", &steps)])
        } else if self.training() {
            fill(words.banner_state[0], &[("step", &step), ("steps", &steps)])
        } else if self.stopped {
            fill(words.banner_state[1], &[("step", &step)])
        } else {
            words.banner_state[2].to_string()
        };
        let diverged: Vec<String> = (self.lockstep.lanes.iter().enumerate())
            .filter_map(|(index, lane)| match lane.session.status {
                RunStatus::Diverged { step } => Some(fill(
                    words.banner_diverged,
                    &[
                        ("lane", &names_text::name(lang, &self.lane_name(index))),
                        ("step", &step.to_string()),
                    ],
                )),
                _ => None,
            })
            .collect();
        let mut banner = match &self.kind {
            Kind::Marked { ids, .. } => {
                let ids: Vec<String> = ids.iter().map(usize::to_string).collect();
                fill(
                    words.banner_marked,
                    &[("ids", &ids.join(", ")), ("state", &state), ("size", &size)],
                )
            }
            Kind::Claims | Kind::Sweep { .. } => fill(
                words.banner,
                &[
                    ("name", self.experiment.name),
                    ("state", &state),
                    ("size", &size),
                ],
            ),
        };
        if !diverged.is_empty() {
            let [open, separator, close] = lang.pick([[" (", "; ", ")"], ["（", "；", "）"]]);
            banner += &format!("{open}{}{close}", diverged.join(separator));
        }
        if let Some(resumed) = &self.resumed {
            banner += lang.pick([". ", "。"]);
            banner += &i18n::translate(lang, resumed);
        }
        banner
    }

    /// The label of variant `index`.
    pub fn label(&self, index: usize) -> &str {
        match &self.kind {
            Kind::Marked { labels, .. } => &labels[index],
            Kind::Claims | Kind::Sweep { .. } => self.experiment.variants[index].0,
        }
    }

    /// The unit its validation losses compare in: the experiment's, or for marked runs
    /// bits per character when their tokenizers differ.
    pub fn loss(&self) -> LossUnit {
        match &self.kind {
            Kind::Marked { .. } => {
                LossUnit::comparing(self.lockstep.lanes.iter().map(|l| &l.session.data))
            }
            Kind::Claims | Kind::Sweep { .. } => self.experiment.loss,
        }
    }

    /// Lane `index` in words: "no final norm seed 2", or in the sweep "post-norm at lr 1e3".
    pub fn lane_name(&self, index: usize) -> String {
        let lane = &self.lockstep.lanes[index];
        let label = self.label(lane.variant);
        match &self.kind {
            Kind::Claims | Kind::Marked { .. } => format!("{label} seed {}", lane.seed + 1),
            Kind::Sweep { lrs } => {
                format!(
                    "{label} at lr {}",
                    lr_text(lrs[index / PAGE_VARIANTS.len()])
                )
            }
        }
    }

    /// Each variant's numbers over its seeds (final values of the seeds that finished, and so
    /// far of those still training); none for the sweep, whose numbers are its cells by
    /// learning rate (`sweep_cells`) and which trains only some of its variants.
    pub fn variants(&self) -> Vec<Variant> {
        let count = match &self.kind {
            Kind::Claims => self.experiment.variants.len(),
            Kind::Marked { labels, .. } => labels.len(),
            Kind::Sweep { .. } => return Vec::new(),
        };
        let loss = self.loss();
        (0..count)
            .map(|index| {
                let sessions = (self.lockstep.lanes.iter())
                    .filter(|l| l.variant == index)
                    .map(|l| &l.session);
                Variant::new(self.label(index), loss, sessions)
            })
            .collect()
    }

    /// The verdict on each claim, once every lane has ended by itself (a stopped experiment
    /// has none: its numbers are not final; the sweep and marked runs have no claims).
    pub fn judged(&self) -> Option<Vec<Judged>> {
        let ended = !self.training() && !self.stopped;
        match self.kind {
            Kind::Claims => ended.then(|| evidence::judge(self.experiment, &self.variants())),
            Kind::Sweep { .. } | Kind::Marked { .. } => None,
        }
    }

    /// Whether every lane's engine completes its steps at once (the CPU engine).
    pub fn completes_at_once(&self) -> bool {
        (self.lockstep.lanes.iter()).all(|l| l.engine.completes_at_once())
    }

    /// Whether a lane has steps in flight or validations on their way.
    pub fn busy(&self) -> bool {
        (self.lockstep.lanes.iter()).any(|l| l.session.busy(l.engine.as_ref()))
    }

    /// One round of the lockstep (a step of each lane that trains, see `Lockstep::round`);
    /// returns the validations to await, by lane.
    pub fn pump(&mut self, now: &dyn Fn() -> f64) -> Vec<(usize, PendingValidation)> {
        self.lockstep.round(now)
    }

    /// Scores lane `lane`'s validation; a failed read stops the lane alone.
    pub fn validated(
        &mut self,
        lane: usize,
        validation: Result<(usize, Vec<Vec<f32>>), EngineError>,
    ) {
        let Some(lane) = self.lockstep.lanes.get_mut(lane) else {
            return;
        };
        match validation {
            Ok((step, logits)) => lane.session.validated(step, &logits),
            Err(_) => lane.session.stop(),
        }
    }

    /// Stops every lane where it is; the histories stay.
    pub fn stop(&mut self) {
        if self.training() {
            self.lockstep.stop();
            self.stopped = true;
        }
    }
}

/// The experiment called `name`, or an error naming it.
pub fn named_experiment(name: &str) -> Result<&'static Experiment, RunError> {
    Experiment::named(name)
        .ok_or_else(|| RunError::new("experiment", format!("unknown experiment {name:?}")))
}

impl Lab {
    /// Starts the experiment `name` in lockstep, replacing any earlier one: every variant at
    /// every seed ([`seeds_for`]) gets its data and engine, validated before any trains.
    pub fn start_experiment(&mut self, name: &str) -> Result<(), RunError> {
        let experiment = named_experiment(name)?;
        let runs = self.experiment_runs(experiment)?;
        let seeds = seeds_for(&runs, &engine::memory_budget(self.gpu.as_ref()))?;
        let lanes = lockstep::seeded(&runs, seeds).collect();
        self.start_lanes(experiment, Kind::Claims, seeds, lanes)
    }

    /// The variants of `experiment` as the page trains them: over this engine's defaults (the
    /// CPU engine keeps its smaller scale) the visitor's scale ([`KEPT_SCALE`]), then the
    /// experiment's settings, then the visitor's run length ([`KEPT_LENGTH`]); each validated.
    pub fn experiment_runs(&self, experiment: &Experiment) -> Result<VariantRuns, RunError> {
        let differing = |key: &str| {
            let (ours, base) = (self.draft.get(key)?, self.defaults.get(key)?);
            (ours != base).then(|| value_text(&ours))
        };
        let mut start = self.defaults.clone();
        for key in KEPT_SCALE {
            if let Some(value) = differing(key) {
                start.set(key, &value)?;
            }
        }
        let mut runs = experiment.runs(&start)?;
        for (_, run) in &mut runs {
            for key in KEPT_LENGTH {
                if let Some(value) = differing(key) {
                    run.set(key, &value)?;
                }
            }
            run.validate()?;
        }
        Ok(runs)
    }

    /// Opens a lane for each (variant, seed, configuration) of `planned` (its data and engine;
    /// an error names the variant) and makes them the page's experiment, replacing any
    /// earlier one.
    pub(super) fn start_lanes(
        &mut self,
        experiment: &'static Experiment,
        kind: Kind,
        seeds: usize,
        planned: Vec<(usize, usize, RunConfig)>,
    ) -> Result<(), RunError> {
        // The old lanes' engines go before the new ones are made.
        self.experiment = None;
        let mut page = PageExperiment {
            experiment,
            kind,
            seeds,
            lockstep: Lockstep::new(Vec::new()),
            stopped: false,
            resume: Vec::new(),
            resumed: None,
            restarts_on_play: false,
            newest_at_start: self.newest_mark(),
        };
        for (variant, seed, mut run) in planned {
            let label = page.label(variant).to_string();
            let named = |e: RunError| RunError::new(e.field, format!("{label}: {}", e.reason));
            let data = self.data_for(&run).map_err(named)?;
            run.model.vocab_size = data.vocab_size();
            let engine = engine::open_engine(&run, self.gpu.as_ref()).map_err(named)?;
            page.lockstep.lanes.push(Lane {
                variant,
                seed,
                session: Session::new(run, data),
                engine,
            });
            page.resume.push(ResumePoints::new(0));
        }
        self.experiment = Some(page);
        Ok(())
    }

    /// The experiment, while it trains on engines that work asynchronously (the GPU engine)
    /// or has results on their way there.
    pub fn gpu_experiment(&self) -> Option<&PageExperiment> {
        let experiment = self.experiment.as_ref()?;
        (!experiment.completes_at_once() && (experiment.training() || experiment.busy()))
            .then_some(experiment)
    }

    /// Rounds of the experiment (a step of each lane) while another, as long as the last,
    /// still fits in `budget_seconds` by `now` (always at least one), on engines that complete
    /// at once (the CPU engine; their validations are scored at once). Returns the rounds.
    pub(super) fn train_experiment(&mut self, budget_seconds: f64, now: &dyn Fn() -> f64) -> usize {
        let Some(experiment) = self.experiment.as_mut() else {
            return 0;
        };
        let started = now();
        let mut rounds = 0;
        while experiment.training() && experiment.completes_at_once() {
            let before = now();
            experiment.pump(now);
            // Resume points of engines that complete at once are kept at once: no reads.
            experiment.take_resume_points();
            rounds += 1;
            let after = now();
            if after - started + (after - before) > budget_seconds {
                break;
            }
        }
        rounds
    }

    /// Records how starting an experiment (or the sweep) went: a refusal becomes the problem
    /// shown; a start clears an earlier refusal to start one (a problem of the controls' own
    /// configuration stays). Returns whether it started.
    pub fn experiment_started(&mut self, started: Result<(), RunError>) -> bool {
        match started {
            Ok(()) => {
                let refused_start =
                    |p: &RunError| matches!(p.field.as_str(), "experiment" | "lrs" | "compare");
                if self.problem.as_ref().is_some_and(refused_start) {
                    self.problem = None;
                }
                true
            }
            Err(error) => {
                self.problem = Some(error);
                false
            }
        }
    }

    /// Stops the experiment's every lane (see [`PageExperiment::stop`]).
    pub fn stop_experiment(&mut self) {
        if let Some(experiment) = &mut self.experiment {
            experiment.stop();
        }
    }

    /// Whether an experiment is training.
    pub fn experiment_training(&self) -> bool {
        self.experiment
            .as_ref()
            .is_some_and(PageExperiment::training)
    }

    /// Whether the page's step charts show the experiment's lanes rather than the runs
    /// (issue 14: the visitor's run, another model, stayed in them): while it trains, and once
    /// it has ended until the newest run moves on (trains, or another starts), so that its end
    /// stays in view.
    pub fn charts_show_lanes(&self) -> bool {
        self.experiment
            .as_ref()
            .is_some_and(|e| e.training() || e.newest_at_start == self.newest_mark())
    }

    /// The newest run's id and steps, to see whether it has moved.
    fn newest_mark(&self) -> Option<(usize, usize)> {
        (self.runs.last()).map(|run| (run.id, run.session.steps_done()))
    }
}

// Natively: the CPU engine's steps complete at once.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::lab::experiment_views::{band_chart, difference_lines, results_rows};
    use crate::lab::page_defaults;
    use crate::lab::tests::{clock, settings};
    use crate::model::{AttentionMemory, ParamLayout};

    fn train_to_end(lab: &mut Lab) {
        let clock = clock();
        while lab.experiment_training() {
            lab.train(1.0, &clock);
        }
    }

    #[test]
    fn lanes_share_batches_and_shared_tensors_start_equal() {
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "3")]), None);
        lab.start_experiment("kv-heads").unwrap();
        let experiment = lab.experiment.as_ref().unwrap();
        assert_eq!(experiment.seeds, PAGE_SEEDS);
        let lanes = &experiment.lockstep.lanes;
        assert_eq!(
            lanes.len(),
            experiment.experiment.variants.len() * PAGE_SEEDS
        );
        for seed in 0..PAGE_SEEDS {
            let at_seed: Vec<&Lane> = lanes.iter().filter(|l| l.seed == seed).collect();
            let (first, params) = (at_seed[0], |lane: &Lane| lane.engine.start_state());
            let first_params = crate::contract::engine::wait(params(first)).unwrap().params;
            let first_layout = ParamLayout::new(&first.session.run.model);
            for lane in &at_seed[1..] {
                assert_ne!(lane.session.run.model, first.session.run.model);
                for step in 0..3 {
                    assert_eq!(
                        lane.session.train_batch(step),
                        first.session.train_batch(step)
                    );
                }
                assert_eq!(
                    lane.session.validation_batches(),
                    first.session.validation_batches()
                );
                let lane_params = crate::contract::engine::wait(params(lane)).unwrap().params;
                let layout = ParamLayout::new(&lane.session.run.model);
                let mut shared = 0;
                for spec in &layout.tensors {
                    match first_layout.find(&spec.name) {
                        Some(other) if other.shape == spec.shape => {
                            let (a, b) = (&lane_params[spec.range()], &first_params[other.range()]);
                            assert_eq!(a, b, "{}", spec.name);
                            shared += 1;
                        }
                        _ => {}
                    }
                }
                assert!(shared > 8, "{shared} shared tensors");
            }
        }
        // Seeds differ: in batches and in initial values.
        let (a, b) = (&lanes[0], &lanes[1]);
        assert_eq!((a.variant, a.seed, b.variant, b.seed), (0, 0, 0, 1));
        assert_ne!(a.session.train_batch(0), b.session.train_batch(0));
    }

    #[test]
    fn lanes_step_together_to_the_end_with_results_and_verdicts() {
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "3")]), None);
        lab.start_experiment("norm-type").unwrap();
        let steps = |lab: &Lab| -> Vec<usize> {
            let lanes = &lab.experiment.as_ref().unwrap().lockstep.lanes;
            lanes.iter().map(|l| l.session.steps_done()).collect()
        };
        let clock = clock();
        // A zero budget: one round (a step of each lane) per call.
        assert!(lab.train(0.0, &clock) > 0);
        assert_eq!(steps(&lab), [1; 6]);
        let experiment = lab.experiment.as_ref().unwrap();
        assert_eq!(
            experiment.banner(Lang::En),
            "experiment norm-type: step 1 of 3, 3 variants × 2 seeds"
        );
        assert!(experiment.judged().is_none(), "no verdict while training");
        train_to_end(&mut lab);
        assert_eq!(steps(&lab), [3; 6]);
        let experiment = lab.experiment.as_ref().unwrap();
        assert_eq!(
            experiment.banner(Lang::En),
            "experiment norm-type: finished, 3 variants × 2 seeds"
        );
        let variants = experiment.variants();
        assert!(variants.iter().all(|v| v.val_loss.values().len() == 2));
        let judged = experiment.judged().unwrap();
        assert_eq!(judged.len(), experiment.experiment.claims.len());
        let (bands, lines) = band_chart(&variants);
        assert_eq!((bands.len(), lines.len()), (3, 3));
        let difference = difference_lines(&variants);
        assert!(difference[0].points.iter().all(|p| p.1 == 0.0));
        assert_eq!(difference[1].points.len(), 3);
        // The visitor's own run did not train meanwhile.
        assert_eq!(lab.runs[0].session.steps_done(), 0);
    }

    #[test]
    fn stopping_stops_every_lane_and_keeps_the_histories() {
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "5")]), None);
        lab.start_experiment("final-norm").unwrap();
        let clock = clock();
        lab.train(0.0, &clock);
        lab.train(0.0, &clock);
        lab.stop_experiment();
        let experiment = lab.experiment.as_ref().unwrap();
        assert!(!lab.experiment_training());
        for lane in &experiment.lockstep.lanes {
            assert_eq!(lane.session.status, RunStatus::Halted { step: 2 });
            assert_eq!(lane.session.history.len(), 2);
        }
        assert!(experiment.banner(Lang::En).contains("stopped at step 2"));
        let chinese = experiment.banner(Lang::Zh);
        assert!(chinese.contains("在第 2 步停止"), "{chinese}");
        assert!(experiment.judged().is_none());
        assert_eq!(lab.train(0.0, &clock), 1, "the visitor's run trains again");
        assert!(lab.start_experiment("nope").is_err());
    }

    #[test]
    fn a_diverged_lane_is_named_and_keeps_its_history_while_the_others_go_on() {
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "4")]), None);
        lab.start_experiment("final-norm").unwrap();
        let experiment = lab.experiment.as_mut().unwrap();
        experiment.lockstep.lanes[3].session.run.train.lr = 1e30;
        train_to_end(&mut lab);
        let experiment = lab.experiment.as_ref().unwrap();
        let lanes = &experiment.lockstep.lanes;
        assert!(matches!(
            lanes[3].session.status,
            RunStatus::Diverged { .. }
        ));
        assert!(!lanes[3].session.history.is_empty(), "its history stays");
        assert!(lanes[..3]
            .iter()
            .all(|l| l.session.status == RunStatus::Finished));
        let banner = experiment.banner(Lang::En);
        assert!(banner.contains("finished"), "{banner}");
        assert!(
            banner.contains("no final norm seed 2 diverged at step"),
            "{banner}"
        );
        let rows = results_rows(Lang::En, &experiment.variants());
        assert_eq!(
            (rows[0][9].as_str(), rows[1][9].as_str()),
            ("0 of 2", "1 of 2")
        );
    }

    #[test]
    fn the_experiment_keeps_the_visitors_scale_and_length_under_its_own_settings() {
        let tiny = [
            ("model.d_model", "16"),
            ("model.n_layers", "1"),
            ("train.steps", "4"),
        ];
        let mut lab = Lab::new(page_defaults(), &settings(&tiny), None);
        lab.start_experiment("norm-position").unwrap();
        let run = &lab.experiment.as_ref().unwrap().lockstep.lanes[0]
            .session
            .run;
        assert_eq!(run.model.d_model, 16, "the visitor's width");
        assert_eq!(
            run.model.n_layers, 6,
            "the experiment sets the depth itself"
        );
        assert_eq!(
            run.train.steps, 4,
            "the visitor's length over the experiment's 300"
        );
        assert_eq!(run.train.lr, 0.05, "the experiment's own setting");

        let mut lab = Lab::new(page_defaults(), &[], None);
        lab.start_experiment("norm-position").unwrap();
        let run = &lab.experiment.as_ref().unwrap().lockstep.lanes[0]
            .session
            .run;
        assert_eq!(
            (run.model.d_model, run.train.steps),
            (32, 300),
            "the CPU scale"
        );
    }

    #[test]
    fn seeds_fit_half_the_budget() {
        let runs = Experiment::named("norm-type")
            .unwrap()
            .runs(&page_defaults())
            .unwrap();
        let need: f64 = (runs.iter())
            .map(|(_, r)| {
                r.model
                    .memory_need(r.train.batch_size, r.train.seq_len, AttentionMemory::Kept)
                    .total()
            })
            .sum();
        let budget = |total: f64| MemoryBudget {
            total,
            largest_buffer: total,
            owner: "a test".into(),
            attention: AttentionMemory::Kept,
        };
        assert_eq!(seeds_for(&runs, &budget(1e12)).unwrap(), PAGE_SEEDS);
        assert_eq!(seeds_for(&runs, &budget(2.0 * need * 1.5)).unwrap(), 1);
        let refused = seeds_for(&runs, &budget(need)).unwrap_err();
        assert_eq!(refused.field, "experiment");
        assert!(refused.reason.contains("3 variants need"), "{refused}");
    }
}
