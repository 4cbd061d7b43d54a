//! What the page's views show, as plain data: chart lines, readouts, and the snapshot the
//! browser tests read (`window.__archlab`).

use serde_json::{json, Value};

use super::i18n::{self, Lang};
use super::page_text::{self, ChartText, PageText};
use super::tour_text::fill;
use super::{Lab, RunEntry};
use crate::charts::{AttentionMap, Dash, Line, RUN_COLORS};
use crate::model::numbers::bytes;
use crate::model::rules::{rules, Rule};
use crate::model::{MemoryBudget, MemoryNeed, ModelConfig};
use crate::train::experiments::LossUnit;
use crate::train::published::PUBLISHED;
use crate::train::session::{RunStatus, Session, StepRecord};

/// The shown runs, not hidden.
fn shown(lab: &Lab) -> impl Iterator<Item = &RunEntry> {
    lab.runs.iter().filter(|r| !r.hidden)
}

/// Which [`Series`] a line is: a run by its id, or the experiment's lane by its index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeriesId {
    Run(usize),
    Lane(usize),
}

/// One line's source on the step charts and the across-runs charts: a shown run, or a lane
/// of the experiment.
pub struct Series<'a> {
    pub id: SeriesId,
    /// In the loss chart's legend: the run's name, or the lane's ("no final norm seed 2").
    pub name: String,
    /// In the other charts' legends: "run 3", or the lane's name.
    pub short: String,
    pub color: usize,
    pub dash: Dash,
    pub session: &'a Session,
}

/// What the step charts and the across-runs charts show (issue 14: an experiment's charts
/// hold only its variants): the experiment's lanes, each in its variant's colour and its
/// seed's stroke, while they are on show ([`Lab::charts_show_lanes`]); else the shown runs.
pub fn series(lab: &Lab) -> Vec<Series<'_>> {
    match lab.experiment.as_ref().filter(|_| lab.charts_show_lanes()) {
        Some(experiment) => (experiment.lockstep.lanes.iter().enumerate())
            .map(|(index, lane)| Series {
                id: SeriesId::Lane(index),
                name: experiment.lane_name(index),
                short: experiment.lane_name(index),
                color: lane.variant,
                dash: Dash::nth(lane.seed, 1),
                session: &lane.session,
            })
            .collect(),
        None => shown(lab)
            .map(|run| Series {
                id: SeriesId::Run(run.id),
                name: run.name(Lang::En),
                short: format!("run {}", run.id),
                color: run.color,
                dash: run_dash(run),
                session: &run.session,
            })
            .collect(),
    }
}

/// Whether the shown series differ in tokenizer. Their losses per token then compare nothing
/// (a token of several characters costs more nats than one character), so the loss chart
/// shows the validation loss in bits per character of the text instead. Series on one
/// tokenizer keep nats per token, the number training minimises and the lecture quotes.
pub fn tokenizers_differ(lab: &Lab) -> bool {
    let series = series(lab);
    LossUnit::comparing(series.iter().map(|s| &s.session.data)) == LossUnit::BitsPerCharacter
}

/// The loss chart's title and y axis: nats per token, or bits per character when the shown
/// runs' tokenizers differ.
pub fn loss_axes(lab: &Lab, words: &PageText) -> ChartText {
    if tokenizers_differ(lab) {
        words.loss_bpc_chart
    } else {
        words.loss_chart
    }
}

/// Train loss (faint, out of the legend) and validation loss of every shown [`series`]; only
/// the validation loss in bits per character when their tokenizers differ ([`loss_axes`]).
pub fn loss_lines(lab: &Lab) -> Vec<Line> {
    let per_character = tokenizers_differ(lab);
    let mut lines = Vec::new();
    for run in series(lab) {
        let history = &run.session.history;
        if !per_character {
            let train: Vec<(f64, f64)> = history
                .iter()
                .map(|r| (r.step as f64, f64::from(r.loss)))
                .collect();
            lines.push(Line {
                label: String::new(),
                points: smooth(&train, lab.smoothing),
                color: run.color,
                faint: true,
                dash: run.dash,
            });
        }
        let value: fn(&StepRecord) -> Option<f32> = if per_character {
            |r| r.val_bpc
        } else {
            |r| r.val_loss
        };
        lines.push(Line {
            label: format!("{} (validation)", run.name),
            points: (history.iter())
                .filter_map(|r| Some((r.step as f64, f64::from(value(r)?))))
                .collect(),
            color: run.color,
            faint: false,
            dash: run.dash,
        });
    }
    lines
}

/// One per-step number of every shown [`series`] (gradient norm, learning rate).
pub fn metric_lines(lab: &Lab, metric: fn(&StepRecord) -> f32) -> Vec<Line> {
    (series(lab).into_iter())
        .map(|run| Line {
            label: run.short,
            points: (run.session.history.iter())
                .map(|r| (r.step as f64, f64::from(metric(r))))
                .collect(),
            color: run.color,
            faint: false,
            dash: run.dash,
        })
        .collect()
}

/// A run's stroke: its colour repeats every [`RUN_COLORS`] runs, its stroke does not.
pub fn run_dash(run: &RunEntry) -> Dash {
    Dash::nth(run.id - 1, RUN_COLORS)
}

/// The latest step's RMS across layers: residual stream, attention and MLP branch outputs.
pub fn profile_lines(run: &RunEntry) -> Vec<Line> {
    let Some(last) = run.session.history.last() else {
        return Vec::new();
    };
    ["residual stream", "attention branch", "MLP branch"]
        .iter()
        .enumerate()
        .map(|(part, label)| Line {
            label: label.to_string(),
            points: last
                .norms
                .iter()
                .enumerate()
                .map(|(layer, n)| {
                    let rms = [n.residual, n.attn, n.mlp][part];
                    (layer as f64, f64::from(rms))
                })
                .collect(),
            color: part,
            faint: false,
            dash: Dash::Solid,
        })
        .collect()
}

/// The controls' model with the newest run's vocabulary, or None while it is invalid.
pub(super) fn shown_model(lab: &Lab) -> Option<ModelConfig> {
    lab.problem.is_none().then_some(())?;
    let mut model = lab.draft.model.clone();
    if let Some(run) = lab.runs.last() {
        model.vocab_size = run.session.run.model.vocab_size;
    }
    Some(model)
}

/// Parameters, training FLOPs per token and KV-cache bytes per token of the controls'
/// configuration (with the newest run's vocabulary), or None while it is invalid.
pub fn readouts(lab: &Lab) -> Option<(u64, f64, usize)> {
    let model = shown_model(lab)?;
    Some((
        model.param_count().total(),
        model.flops_per_token(),
        model.kv_cache_bytes_per_token(),
    ))
}

/// What the controls' configuration needs in memory (see [`MemoryNeed`]) and what the engine
/// the page trains on may hold, or None while the configuration is invalid (a configuration
/// over the budget is refused next to its control, naming both numbers).
pub fn memory_use(lab: &Lab) -> Option<(MemoryNeed, MemoryBudget)> {
    let model = shown_model(lab)?;
    let train = &lab.draft.train;
    let budget = super::engine::memory_budget(lab.gpu());
    let need = model.memory_need(train.batch_size, train.seq_len, budget.attention);
    Some((need, budget))
}

/// The size controls' limit, in words: "Memory: 25.3 MiB of the 3.50 GiB the page's CPU engine
/// (…) may hold (0.7 %); largest buffer 1.20 MiB of 2.00 GiB."
pub fn memory_readout(lab: &Lab, lang: Lang) -> Option<String> {
    let (need, budget) = memory_use(lab)?;
    Some(fill(
        page_text::of(lang).memory_readout,
        &[
            ("need", &bytes(need.total())),
            ("total", &bytes(budget.total)),
            ("owner", &i18n::translate(lang, &budget.owner)),
            (
                "share",
                &format!("{:.1}", 100.0 * need.total() / budget.total),
            ),
            ("largest", &bytes(need.largest_buffer)),
            ("limit", &bytes(budget.largest_buffer)),
        ],
    ))
}

/// The lecture's rules of thumb for the controls' configuration, or None while it is invalid.
pub fn rule_readouts(lab: &Lab) -> Option<Vec<Rule>> {
    Some(rules(&shown_model(lab)?))
}

/// Each published model's rules (`train::published`), beside the controls' for comparison.
pub fn published_rules() -> Vec<(&'static str, Vec<Rule>)> {
    PUBLISHED
        .iter()
        .map(|row| (row.name, rules(&row.model())))
        .collect()
}

/// A rule's value with its unit, at most two decimals: "2.69", "1", "128", "3.89 %".
pub fn rule_value(rule: &Rule) -> String {
    format!("{}{}", plain_number(rule.value), rule.unit)
}

/// A rule's range in `lang`'s words: "2.53 to 2.8", "1", or "no range".
pub fn rule_range(rule: &Rule, lang: Lang) -> String {
    let words = page_text::of(lang).rule_range;
    match rule.range {
        None => words[0].into(),
        Some((low, high)) if low == high => plain_number(low),
        Some((low, high)) => fill(
            words[1],
            &[("low", &plain_number(low)), ("high", &plain_number(high))],
        ),
    }
}

/// Whether a rule holds, in `lang`'s words.
pub fn rule_verdict(rule: &Rule, lang: Lang) -> &'static str {
    let words = page_text::of(lang).rule_verdict;
    match rule.within() {
        Some(true) => words[0],
        Some(false) => words[1],
        None => "—",
    }
}

/// At most two decimals, trailing zeros dropped.
fn plain_number(value: f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Mean training tokens per second over the newest run's last ten steps, while it trains:
/// the page `playing` and no experiment training instead (a figure left from a paused, waiting
/// or finished run reads as current).
pub fn tokens_per_second(lab: &Lab, playing: bool) -> Option<f64> {
    let run = lab
        .training_run()
        .filter(|_| playing && !lab.experiment_training())?;
    let history = &run.session.history;
    let recent = &history[history.len().saturating_sub(10)..];
    (!recent.is_empty())
        .then(|| recent.iter().map(|r| r.tokens_per_second).sum::<f64>() / recent.len() as f64)
}

/// The tokens/s readout's label: the run it measures while one trains ("tokens/s, run 2"),
/// since the other readouts are of the controls' settings.
pub fn tokens_label(lab: &Lab, playing: bool, words: &PageText) -> String {
    match (tokens_per_second(lab, playing), lab.newest_id()) {
        (Some(_), Some(id)) => fill(words.tokens_of_run, &[("id", &id.to_string())]),
        _ => words.readouts[3].to_string(),
    }
}

/// The problems' heading: while the newest run can still train, that these settings start
/// no new run and it goes on with its own (issue 14: "This configuration cannot train" while
/// it trained on); else that this configuration cannot train.
pub fn problems_heading(lab: &Lab, words: &PageText) -> String {
    match lab.training_run() {
        Some(run) => fill(words.cannot_start, &[("id", &run.id.to_string())]),
        None => words.cannot_train.to_string(),
    }
}

/// The tokens of the example the attention maps show (the newest run's), as labels.
pub fn display_tokens(lab: &Lab) -> Vec<String> {
    let Some(run) = lab.runs.last() else {
        return Vec::new();
    };
    run.shown()
        .1
        .tokens
        .iter()
        .map(|&id| run.token_label(id))
        .collect()
}

/// The shown example's length T and its attention maps, one per layer and head, with their
/// masks.
pub fn example_maps(run: &RunEntry) -> (usize, Vec<AttentionMap>) {
    let example = run.shown().1;
    let t = example.tokens.len();
    let maps = super::attention_maps(&run.session.run.model, &example.attention, t);
    (t, maps)
}

/// Exponential moving average with TensorBoard's debiasing: point i is the mean of the values
/// up to it weighted by `smoothing^(i - j)`; 0 leaves the values as they are.
pub fn smooth(points: &[(f64, f64)], smoothing: f64) -> Vec<(f64, f64)> {
    let (mut average, mut weight) = (0.0, 0.0);
    points
        .iter()
        .map(|&(x, y)| {
            average = smoothing * average + (1.0 - smoothing) * y;
            weight = smoothing * weight + (1.0 - smoothing);
            (x, average / weight)
        })
        .collect()
}

/// What the enlarged map says about one cell of the newest run's map (layer, head):
/// "query t=5 'a' → key t=3 'b': p = 0.31" in `lang`, with the tokens of the display example as the data
/// names them (characters, or a task's symbols).
pub fn attention_cell_text(
    lab: &Lab,
    lang: Lang,
    layer: usize,
    head: usize,
    q: usize,
    k: usize,
) -> Option<String> {
    let (t, maps) = example_maps(lab.runs.last()?);
    let map = maps.iter().find(|m| (m.layer, m.head) == (layer, head))?;
    let i = q
        .checked_mul(t)?
        .checked_add(k)
        .filter(|_| q < t && k < t)?;
    let tokens = display_tokens(lab);
    let words = page_text::of(lang);
    let p = map.probs[i];
    let value = if map.masked.get(i) == Some(&true) {
        words.cell_masked.to_string()
    } else if p.is_finite() {
        format!("p = {p:.2}")
    } else {
        fill(words.cell_nan, &[("p", &p.to_string())])
    };
    Some(fill(
        words.cell_readout,
        &[
            ("q", &q.to_string()),
            ("k", &k.to_string()),
            ("query", &tokens[q]),
            ("key", &tokens[k]),
            ("value", &value),
        ],
    ))
}

/// The largest attention logit of a step over all layers.
pub fn max_attention_logit(record: &StepRecord) -> f32 {
    record
        .max_attention_logit
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max)
}

/// Where a run stands, in words.
pub fn status_text(run: &RunEntry, words: &[&str; 5]) -> String {
    let done = run.session.steps_done().to_string();
    let (template, value) = match run.session.status {
        RunStatus::Training => (words[0], run.session.run.train.steps),
        RunStatus::Finished => (words[1], 0),
        RunStatus::Diverged { step } => (words[2], step),
        RunStatus::Stopped { step } => (words[3], step),
        RunStatus::Halted { step } => (words[4], step),
    };
    let value = value.to_string();
    fill(
        template,
        &[("done", &done), ("steps", &value), ("step", &value)],
    )
}

/// The state the browser tests read: runs with their losses, the newest run's attention
/// maps with their masks, the series on the charts, the readouts (tokens/s while `playing`),
/// the problems and Play's title.
pub fn snapshot(lab: &Lab, playing: bool) -> Value {
    let runs: Vec<Value> = lab
        .runs
        .iter()
        .map(|run| {
            let history = &run.session.history;
            json!({
                "id": run.id,
                "name": run.name(Lang::En),
                "color": run.color,
                "marked": run.marked,
                "hidden": run.hidden,
                "status": status_text(run, &page_text::ENGLISH.status),
                "steps": history.len(),
                "resume_step": run.resume_step(),
                "loss": history.iter().map(|r| r.loss).collect::<Vec<_>>(),
                "val_loss": history.iter().filter_map(|r| Some([r.step as f32, r.val_loss?])).collect::<Vec<_>>(),
                "val_bpc": history.iter().filter_map(|r| Some([r.step as f32, r.val_bpc?])).collect::<Vec<_>>(),
            })
        })
        .collect();
    let attention = lab.runs.last().map(|run| {
        let (t, maps) = example_maps(run);
        json!({
            "t": t,
            "tokens": display_tokens(lab),
            "norms": run.shown().1.norms.iter().map(|n| [n.residual, n.attn, n.mlp]).collect::<Vec<_>>(),
            "step": run.shown().0,
            "snapshots": run.snapshots.len(),
            "maps": maps.iter().map(|m| json!({
                "layer": m.layer, "head": m.head, "probs": m.probs, "masked": m.masked,
            })).collect::<Vec<_>>(),
        })
    });
    let readouts = readouts(lab).map(|(params, flops, kv)| {
        json!({ "params": params, "flops_per_token": flops, "kv_bytes_per_token": kv })
    });
    json!({
        "runs": runs,
        "loss_axis": loss_axes(lab, &page_text::ENGLISH).y,
        "attention": attention,
        "readouts": readouts,
        "chart_series": series(lab).into_iter().map(|s| s.short).collect::<Vec<_>>(),
        "layer_charts": super::across_runs::snapshot(lab),
        "tokens_per_second": tokens_per_second(lab, playing),
        "playing": playing,
        "problems_heading": (!lab.problems().is_empty())
            .then(|| problems_heading(lab, &page_text::ENGLISH)),
        "play_title": lab.play_title(super::i18n::Lang::En),
        "settings": lab.url_settings(),
        "engine_notice": lab.engine_notice,
        "experiment": super::experiment_views::snapshot(lab),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::page_defaults;

    #[test]
    fn lines_follow_the_runs_and_hiding() {
        let mut lab = Lab::new(page_defaults(), &[("train.steps".into(), "2".into())], None);
        let t = std::cell::Cell::new(0.0);
        let clock = || {
            t.set(t.get() + 0.01);
            t.get()
        };
        // Both steps evaluate (the first and the last), so each takes a call.
        assert_eq!(lab.train(1.0, &clock), 1);
        assert!(
            tokens_per_second(&lab, true).is_some(),
            "measured while training"
        );
        assert_eq!(lab.train(1.0, &clock), 1);
        assert_eq!(
            tokens_per_second(&lab, true),
            None,
            "nothing trains once finished"
        );
        lab.change("model.qk_norm", "true");
        let lines = loss_lines(&lab);
        assert_eq!(lines.len(), 4, "train and validation per run");
        assert_eq!(lines[0].points.len(), 2);
        assert_eq!(
            lines[1].points.len(),
            2,
            "both steps evaluate (first and last)"
        );
        lab.toggle_hidden(1);
        assert_eq!(loss_lines(&lab).len(), 2);
        assert_eq!(metric_lines(&lab, |r| r.lr).len(), 1);
        let run = &lab.runs[0];
        assert_eq!(profile_lines(run)[0].points.len(), 2);
        assert_eq!(
            status_text(run, &page_text::ENGLISH.status),
            "finished, 2 steps"
        );
        assert_eq!(
            status_text(run, &page_text::CHINESE.status),
            "已完成，共 2 步"
        );
        assert!(display_tokens(&lab).is_empty(), "no example computed yet");
        lab.refresh_attention();
        assert_eq!(display_tokens(&lab).len(), 32);
        let run = &lab.runs[0];
        let record = &run.session.history[0];
        assert_eq!(
            max_attention_logit(record),
            record.max_attention_logit[0].max(record.max_attention_logit[1])
        );
        let snapshot = snapshot(&lab, false);
        assert_eq!(snapshot["runs"].as_array().unwrap().len(), 2);
        assert_eq!(snapshot["runs"][0]["loss"].as_array().unwrap().len(), 2);
    }

    /// Issue 14: the visitor's run (another model) stayed in the charts during an
    /// experiment. The step charts show the experiment's lanes while it trains and after it
    /// ends, until the visitor's run trains on.
    #[test]
    fn the_step_charts_show_the_experiments_lanes_while_it_is_on_show() {
        let clock = crate::lab::tests::clock();
        let mut lab = Lab::new(page_defaults(), &[("train.steps".into(), "3".into())], None);
        lab.train(1.0, &clock);
        let shows = |lab: &Lab| -> Vec<String> {
            let lines = metric_lines(lab, |r| r.lr);
            lines.into_iter().map(|l| l.label).collect()
        };
        assert_eq!(shows(&lab), ["run 1"]);
        lab.start_experiment("final-norm").unwrap();
        let lanes = [
            "final norm seed 1",
            "final norm seed 2",
            "no final norm seed 1",
            "no final norm seed 2",
        ];
        assert_eq!(shows(&lab), lanes);
        while lab.experiment_training() {
            lab.train(1.0, &clock);
        }
        assert_eq!(shows(&lab), lanes, "its end stays in view");
        let validation: Vec<String> = (loss_lines(&lab).into_iter())
            .filter(|l| !l.faint)
            .map(|l| l.label)
            .collect();
        assert_eq!(validation, lanes.map(|lane| format!("{lane} (validation)")));
        let lane = &lab.experiment.as_ref().unwrap().lockstep.lanes[3];
        let lr = &metric_lines(&lab, |r| r.lr)[3];
        assert_eq!(
            (lr.color, lr.dash),
            (1, Dash::Dashed),
            "variant colour, seed stroke"
        );
        assert_eq!(lr.points.len(), lane.session.history.len());
        assert!(lab.train(1.0, &clock) > 0, "run 1 trains on");
        assert_eq!(shows(&lab), ["run 1"]);
    }

    /// Issue 14: tokens/s stayed on screen with nothing training. It shows only while the
    /// newest run trains: not while the page is paused, nor while an experiment trains and
    /// the run waits.
    #[test]
    fn tokens_per_second_only_while_the_newest_run_trains() {
        let clock = crate::lab::tests::clock();
        let mut lab = Lab::new(page_defaults(), &[("train.steps".into(), "9".into())], None);
        lab.train(1.0, &clock);
        assert!(
            tokens_per_second(&lab, true).is_some(),
            "playing, it trains"
        );
        assert_eq!(
            tokens_label(&lab, true, &page_text::ENGLISH),
            "tokens/s, run 1"
        );
        assert_eq!(tokens_per_second(&lab, false), None, "paused");
        assert_eq!(tokens_label(&lab, false, &page_text::ENGLISH), "tokens/s");
        lab.start_experiment("final-norm").unwrap();
        assert_eq!(
            tokens_per_second(&lab, true),
            None,
            "the run waits while the experiment trains"
        );
        lab.stop_experiment();
        assert!(
            tokens_per_second(&lab, true).is_some(),
            "the run trains again"
        );
    }

    /// Issue 14: with an invalid setting the problems said "This configuration cannot train"
    /// while the newest run trained on. They say it goes on with its own settings, and it
    /// does; with no run left to train they say the configuration cannot train.
    #[test]
    fn an_invalid_setting_says_the_newest_run_goes_on() {
        let clock = crate::lab::tests::clock();
        let mut lab = Lab::new(page_defaults(), &[("train.steps".into(), "9".into())], None);
        lab.train(0.0, &clock);
        assert!(
            !lab.change("model.n_kv_heads", "3"),
            "3 KV heads do not divide 4 heads"
        );
        assert!(!lab.problems().is_empty());
        assert_eq!(
            problems_heading(&lab, &page_text::ENGLISH),
            "These settings cannot start a new run (run 1 goes on with its own, earlier \
             settings): "
        );
        assert_eq!(
            problems_heading(&lab, &page_text::CHINESE),
            "这些设置无法开始新的运行（运行 1 按它自己先前的设置继续）："
        );
        let done = lab.runs[0].session.steps_done();
        // A zero budget: one step.
        assert_eq!(lab.train(0.0, &clock), 1);
        assert_eq!(lab.runs[0].session.steps_done(), done + 1, "it goes on");
        assert_eq!(lab.runs[0].session.status, RunStatus::Training);
        assert_eq!(
            status_text(&lab.runs[0], &page_text::ENGLISH.status),
            format!("step {} of 9", lab.runs[0].session.steps_done())
        );
        while lab.train(1.0, &clock) > 0 {}
        assert_eq!(
            problems_heading(&lab, &page_text::ENGLISH),
            "This configuration cannot train: "
        );
    }

    /// Runs on different tokenizers share the loss chart in bits per character; on one
    /// tokenizer it stays in nats per token.
    /// Issue 13: the size controls show the limit, the engine's budget, and what the
    /// configuration needs of it; a wider model needs more.
    #[test]
    fn the_memory_readout_shows_the_need_against_the_engines_budget() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        let budget = crate::cpu::memory_budget();
        let text = memory_readout(&lab, Lang::En).unwrap();
        assert!(text.starts_with("Memory: "), "{text}");
        let zh = memory_readout(&lab, Lang::Zh).unwrap();
        let english = crate::lab::names_text::english_words(&zh);
        assert!(
            zh.starts_with("内存：") && english.is_empty(),
            "{zh}: {english:?}"
        );
        assert!(
            text.contains(&format!(
                "of the {} {} may hold",
                bytes(budget.total),
                budget.owner
            )),
            "{text}"
        );
        let (narrow, _) = memory_use(&lab).unwrap();
        let d_model = 2 * lab.draft.model.d_model;
        lab.change("model.d_model", &d_model.to_string());
        let (wide, _) = memory_use(&lab).unwrap();
        assert!(
            wide.state > 3.0 * narrow.state,
            "{wide:?} against {narrow:?}"
        );
        lab.change("model.d_model", "100000");
        assert_eq!(
            memory_readout(&lab, Lang::En),
            None,
            "refused: the error names the numbers"
        );
    }

    #[test]
    fn the_loss_chart_turns_to_bits_per_character_when_tokenizers_differ() {
        let mut lab = Lab::new(page_defaults(), &[("train.steps".into(), "1".into())], None);
        let clock = || 0.0;
        assert_eq!(lab.train(1.0, &clock), 1);
        let record = lab.runs[0].session.history[0].clone();
        let (nats, bpc) = (record.val_loss.unwrap(), record.val_bpc.unwrap());
        assert!(
            (bpc - nats / std::f32::consts::LN_2).abs() < 1e-5 * bpc,
            "characters"
        );
        assert_eq!(loss_axes(&lab, &page_text::ENGLISH).y, "nats per token");
        assert_eq!(loss_lines(&lab).len(), 2, "train and validation");
        lab.change("data.source.tokenizer", r#"{"kind": "byte"}"#);
        assert_eq!(lab.train(1.0, &clock), 1);
        assert!(tokenizers_differ(&lab));
        assert_eq!(loss_axes(&lab, &page_text::ENGLISH).y, "bits per character");
        let lines = loss_lines(&lab);
        assert_eq!(lines.len(), 2, "validation only, one per run");
        for (line, run) in lines.iter().zip(&lab.runs) {
            let bpc = run.session.history[0].val_bpc.unwrap();
            assert_eq!(line.points, [(0.0, f64::from(bpc))]);
        }
        lab.toggle_hidden(1);
        assert_eq!(
            loss_axes(&lab, &page_text::ENGLISH).y,
            "nats per token",
            "one shown run"
        );
        assert_eq!(snapshot(&lab, false)["loss_axis"], "nats per token");
    }

    #[test]
    fn a_cell_reads_as_query_key_and_probability() {
        let settings = [
            ("train.steps", "1"),
            (
                "data.source",
                r#"{"type":"task","task":"copy","length":4,"symbols":10}"#,
            ),
            ("train.seq_len", "10"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let mut lab = Lab::new(page_defaults(), &settings, None);
        assert_eq!(
            attention_cell_text(&lab, Lang::En, 0, 0, 1, 0),
            None,
            "no maps before the first refresh"
        );
        lab.refresh_attention();
        let tokens = display_tokens(&lab);
        let p = lab.runs[0].example.attention[1][3 * 10 * 10 + 5 * 10 + 2];
        assert_eq!(
            attention_cell_text(&lab, Lang::En, 1, 3, 5, 2).unwrap(),
            format!(
                "query t=5 '{}' → key t=2 '{}': p = {p:.2}",
                tokens[5], tokens[2]
            )
        );
        assert!(
            attention_cell_text(&lab, Lang::En, 1, 3, 2, 5)
                .unwrap()
                .ends_with("masked"),
            "causal"
        );
        assert_eq!(attention_cell_text(&lab, Lang::En, 1, 3, 10, 0), None);
        assert_eq!(
            attention_cell_text(&lab, Lang::En, 2, 0, 0, 0),
            None,
            "no layer 2"
        );
        lab.runs[0].example.attention[0][0] = f32::NAN;
        assert_eq!(
            attention_cell_text(&lab, Lang::En, 0, 0, 0, 0).unwrap(),
            format!(
                "query t=0 '{0}' → key t=0 '{0}': p = NaN (NaN: the run diverged)",
                tokens[0]
            )
        );
        assert_eq!(
            attention_cell_text(&lab, Lang::Zh, 0, 0, 0, 0).unwrap(),
            format!(
                "查询 t=0 '{0}' → 键 t=0 '{0}'：p = NaN（NaN：运行已发散）",
                tokens[0]
            )
        );
    }

    #[test]
    fn smoothing_is_a_debiased_moving_average() {
        let points = [(0.0, 4.0), (1.0, 2.0), (2.0, 3.0)];
        assert_eq!(smooth(&points, 0.0), points);
        let smoothed = smooth(&points, 0.5);
        // Weights 1, then (0.5, 1)/1.5, then (0.25, 0.5, 1)/1.75.
        let expected = [
            4.0,
            (0.5 * 4.0 + 2.0) / 1.5,
            (0.25 * 4.0 + 0.5 * 2.0 + 3.0) / 1.75,
        ];
        for ((x, y), (i, e)) in smoothed.iter().zip(expected.iter().enumerate()) {
            assert_eq!(*x, i as f64);
            assert!((y - e).abs() < 1e-12, "{y} vs {e}");
        }
    }

    #[test]
    fn kv_cache_readout_follows_the_kv_heads() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        let (_, _, mha) = readouts(&lab).unwrap();
        lab.change("model.n_kv_heads", "1");
        let (_, _, mqa) = readouts(&lab).unwrap();
        assert_eq!(mha, 4 * mqa);
        lab.change("model.n_kv_heads", "3");
        assert!(readouts(&lab).is_none());
    }

    #[test]
    fn rule_readouts_follow_d_ff() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        // SwiGLU at d_model 32: d_ff 8/3 x 32 = 85.3, rounded up to 88; 88 / 32 = 2.75.
        assert_eq!(lab.draft.model.d_model, 32);
        let auto = &rule_readouts(&lab).unwrap()[0];
        assert_eq!(
            (rule_value(auto).as_str(), rule_verdict(auto, Lang::En)),
            ("2.75", "within")
        );
        assert_eq!(rule_range(auto, Lang::En), "2.53 to 2.8");
        lab.change("model.d_ff", "128");
        let wide = &rule_readouts(&lab).unwrap()[0];
        assert_eq!(
            (rule_value(wide).as_str(), rule_verdict(wide, Lang::En)),
            ("4", "outside")
        );
        lab.change("model.n_kv_heads", "3");
        assert!(rule_readouts(&lab).is_none());
        // The published models' ratios: LLaMA 2 7B's aspect ratio 4096 / 32 = 128.
        let published = published_rules();
        let (_, llama) = published
            .iter()
            .find(|(name, _)| *name == "LLaMA 2 7B")
            .unwrap();
        assert_eq!(rule_value(&llama[2]), "128");
    }
}
