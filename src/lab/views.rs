//! What the page's views show, as plain data: chart lines, readouts, and the snapshot the
//! browser tests read (`window.__archlab`).

use serde_json::{json, Value};

use super::{Lab, RunEntry};
use crate::charts::Line;
use crate::train::session::{RunStatus, StepRecord};

/// Train loss (faint, out of the legend) and validation loss of every shown run.
pub fn loss_lines(lab: &Lab) -> Vec<Line> {
    let mut lines = Vec::new();
    for run in lab.runs.iter().filter(|r| !r.hidden) {
        let history = &run.session.history;
        lines.push(Line {
            label: String::new(),
            points: history
                .iter()
                .map(|r| (r.step as f64, f64::from(r.loss)))
                .collect(),
            color: run.color,
            faint: true,
        });
        lines.push(Line {
            label: format!("{} (validation)", run.name()),
            points: history
                .iter()
                .filter_map(|r| Some((r.step as f64, f64::from(r.val_loss?))))
                .collect(),
            color: run.color,
            faint: false,
        });
    }
    lines
}

/// One per-step number of every shown run (gradient norm, learning rate).
pub fn metric_lines(lab: &Lab, metric: fn(&StepRecord) -> f32) -> Vec<Line> {
    lab.runs
        .iter()
        .filter(|r| !r.hidden)
        .map(|run| Line {
            label: format!("run {}", run.id),
            points: run
                .session
                .history
                .iter()
                .map(|r| (r.step as f64, f64::from(metric(r))))
                .collect(),
            color: run.color,
            faint: false,
        })
        .collect()
}

/// RMS of the residual stream after each layer over time.
pub fn norm_lines(run: &RunEntry) -> Vec<Line> {
    let layers = run.session.run.model.n_layers;
    (0..layers)
        .map(|layer| Line {
            label: format!("layer {layer}"),
            points: run
                .session
                .history
                .iter()
                .map(|r| (r.step as f64, f64::from(r.norms[layer].residual)))
                .collect(),
            color: layer,
            faint: false,
        })
        .collect()
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
        })
        .collect()
}

/// Parameters, training FLOPs per token and KV-cache bytes per token of the controls'
/// configuration (with the newest run's vocabulary), or None while it is invalid.
pub fn readouts(lab: &Lab) -> Option<(usize, f64, usize)> {
    lab.problem.is_none().then_some(())?;
    let mut model = lab.draft.model.clone();
    if let Some(run) = lab.runs.last() {
        model.vocab_size = run.session.run.model.vocab_size;
    }
    Some((
        model.param_count().total(),
        model.flops_per_token(),
        model.kv_cache_bytes_per_token(),
    ))
}

/// Mean training tokens per second over the newest run's last ten steps.
pub fn tokens_per_second(lab: &Lab) -> Option<f64> {
    let history = &lab.runs.last()?.session.history;
    let recent = &history[history.len().saturating_sub(10)..];
    (!recent.is_empty())
        .then(|| recent.iter().map(|r| r.tokens_per_second).sum::<f64>() / recent.len() as f64)
}

/// The tokens of the example the attention maps show (the newest run's), as labels.
pub fn display_tokens(lab: &Lab) -> Vec<String> {
    let Some(run) = lab.runs.last() else {
        return Vec::new();
    };
    let batch = run.session.display_batch();
    batch.inputs[..batch.seq]
        .iter()
        .map(|&id| run.session.data.token_label(id))
        .collect()
}

/// The largest attention logit of a step over all layers.
pub fn max_attention_logit(record: &StepRecord) -> f32 {
    record
        .max_attention_logit
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max)
}

/// 12345 as "12.3 k".
pub fn si(value: f64) -> String {
    let (scaled, prefix) = match value.abs() {
        v if v >= 1e9 => (value / 1e9, " G"),
        v if v >= 1e6 => (value / 1e6, " M"),
        v if v >= 1e3 => (value / 1e3, " k"),
        _ => (value, ""),
    };
    format!("{scaled:.3}{prefix}")
        .replace(".000", "")
        .trim_end()
        .to_string()
}

/// Where a run stands, in words.
pub fn status_text(run: &RunEntry) -> String {
    let done = run.session.steps_done();
    match run.session.status {
        RunStatus::Training => format!("step {done} of {}", run.session.run.train.steps),
        RunStatus::Finished => format!("finished, {done} steps"),
        RunStatus::Diverged { step } => format!("diverged at step {step}"),
        RunStatus::Stopped { step } => format!("stopped by an engine error before step {step}"),
    }
}

/// The state the browser tests read: runs with their losses, the newest run's attention
/// maps with their masks, and the readouts.
pub fn snapshot(lab: &Lab) -> Value {
    let runs: Vec<Value> = lab
        .runs
        .iter()
        .map(|run| {
            let history = &run.session.history;
            json!({
                "id": run.id,
                "name": run.name(),
                "color": run.color,
                "hidden": run.hidden,
                "status": status_text(run),
                "steps": history.len(),
                "loss": history.iter().map(|r| r.loss).collect::<Vec<_>>(),
                "val_loss": history.iter().filter_map(|r| Some([r.step as f32, r.val_loss?])).collect::<Vec<_>>(),
            })
        })
        .collect();
    let attention = lab.runs.last().map(|run| {
        let t = run.session.display_batch().seq;
        let maps = super::attention_maps(&run.session.run.model, &run.attention, t);
        json!({
            "t": t,
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
        "attention": attention,
        "readouts": readouts,
        "tokens_per_second": tokens_per_second(lab),
        "settings": lab.url_settings(),
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
        assert_eq!(lab.train(1.0, &clock) + lab.train(1.0, &clock), 2);
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
        assert_eq!(norm_lines(run).len(), 2);
        assert_eq!(profile_lines(run)[0].points.len(), 2);
        assert_eq!(status_text(run), "finished, 2 steps");
        assert_eq!(display_tokens(&lab).len(), 32);
        let record = &run.session.history[0];
        assert_eq!(
            max_attention_logit(record),
            record.max_attention_logit[0].max(record.max_attention_logit[1])
        );
        let snapshot = snapshot(&lab);
        assert_eq!(snapshot["runs"].as_array().unwrap().len(), 2);
        assert_eq!(snapshot["runs"][0]["loss"].as_array().unwrap().len(), 2);
    }

    #[test]
    fn si_prefixes() {
        assert_eq!(si(512.0), "512");
        assert_eq!(si(29408.0), "29.408 k");
        assert_eq!(si(175_680.0), "175.680 k");
        assert_eq!(si(2_000_000.0), "2 M");
        assert_eq!(si(0.5), "0.500");
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
}
