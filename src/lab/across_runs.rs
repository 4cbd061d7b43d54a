//! Views that compare runs, not only the newest: a per-layer number (residual-stream RMS,
//! gradient norm) at a picked layer across the runs the step charts show (an experiment's
//! lanes while they are on show), and the attention maps of two runs side by side.

use serde_json::{json, Value};

use super::views::{example_maps, series, Series, SeriesId};
use super::Lab;
use crate::charts::{AttentionMap, Dash, Line, PALETTE};
use crate::train::session::StepRecord;

/// Which layer a per-layer chart shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LayerPick {
    /// Each run's last layer, so that runs of different depths still compare.
    #[default]
    Last,
    /// Layer `n` (0-based) of every run that has it.
    Layer(usize),
    /// Every layer of one run or lane, one line each.
    AllOf(SeriesId),
}

impl LayerPick {
    /// The pick as a select's value: "last", "layer-2", "run-3", "lane-0".
    pub fn value(self) -> String {
        match self {
            Self::Last => "last".into(),
            Self::Layer(layer) => format!("layer-{layer}"),
            Self::AllOf(SeriesId::Run(id)) => format!("run-{id}"),
            Self::AllOf(SeriesId::Lane(index)) => format!("lane-{index}"),
        }
    }

    /// A select's value back as a pick; anything else is [`LayerPick::Last`].
    pub fn parse(value: &str) -> Self {
        let number = |prefix| value.strip_prefix(prefix)?.parse().ok();
        if let Some(layer) = number("layer-") {
            Self::Layer(layer)
        } else if let Some(id) = number("run-") {
            Self::AllOf(SeriesId::Run(id))
        } else if let Some(index) = number("lane-") {
            Self::AllOf(SeriesId::Lane(index))
        } else {
            Self::Last
        }
    }
}

/// The layer picker's options, (value, label): each run's last layer, every layer of the
/// deepest shown series, and all layers of each shown series.
pub fn layer_choices(lab: &Lab) -> Vec<(String, String)> {
    let series = series(lab);
    let deepest = series.iter().map(layers).max().unwrap_or(0);
    let mut choices = vec![(
        LayerPick::Last.value(),
        "last layer (each run's)".to_string(),
    )];
    choices.extend(
        (0..deepest).map(|layer| (LayerPick::Layer(layer).value(), format!("layer {layer}"))),
    );
    choices.extend(series.iter().map(|shown| {
        (
            LayerPick::AllOf(shown.id).value(),
            format!("all layers of {}", shown.short),
        )
    }));
    choices
}

fn layers(shown: &Series) -> usize {
    shown.session.run.model.n_layers
}

/// A per-layer number over the steps at `pick`: one line per shown [`series`] in its colour
/// and stroke (as on the loss chart), or one per layer of one series in the palette's order.
/// A pick the picker no longer offers (a hidden run, the runs given way to an experiment's
/// lanes, a layer deeper than any shown) counts as [`LayerPick::Last`], the option its select
/// then shows.
pub fn layer_lines(
    lab: &Lab,
    pick: LayerPick,
    value: fn(&StepRecord, usize) -> Option<f32>,
) -> Vec<Line> {
    let offered = (layer_choices(lab).iter()).any(|(option, _)| *option == pick.value());
    let pick = if offered { pick } else { LayerPick::Last };
    let points = |shown: &Series, layer: usize| -> Vec<(f64, f64)> {
        (shown.session.history.iter())
            .filter_map(|r| Some((r.step as f64, f64::from(value(r, layer)?))))
            .collect()
    };
    let series = series(lab);
    if let Some(shown) = series.iter().find(|s| pick == LayerPick::AllOf(s.id)) {
        return (0..layers(shown))
            .map(|layer| Line {
                label: format!("layer {layer}"),
                points: points(shown, layer),
                color: layer,
                faint: false,
                dash: Dash::nth(layer, PALETTE.len()),
            })
            .collect();
    }
    // The picked layer of a series, if it has one.
    let layer_of = |shown: &Series| match pick {
        LayerPick::Layer(n) => (n < layers(shown)).then_some(n),
        LayerPick::Last | LayerPick::AllOf(_) => layers(shown).checked_sub(1),
    };
    (series.iter())
        .filter_map(|shown| {
            Some(Line {
                label: shown.short.clone(),
                points: points(shown, layer_of(shown)?),
                color: shown.color,
                faint: false,
                dash: shown.dash,
            })
        })
        .collect()
}

/// RMS of the residual stream after `layer`.
pub fn residual_rms(record: &StepRecord, layer: usize) -> Option<f32> {
    record.norms.get(layer).map(|n| n.residual)
}

/// Gradient norm of `layer`'s parameters before clipping.
pub fn layer_grad_norm(record: &StepRecord, layer: usize) -> Option<f32> {
    record.layer_grad_norms.get(layer).copied()
}

/// The `layer_charts` part of the `window.__archlab` snapshot: the per-layer charts' legends
/// at their default pick.
pub fn snapshot(lab: &Lab) -> Value {
    let labels = |value| -> Vec<String> {
        (layer_lines(lab, LayerPick::Last, value).into_iter())
            .map(|line| line.label)
            .collect()
    };
    json!({ "norms": labels(residual_rms), "layer_grad": labels(layer_grad_norm) })
}

/// The two runs whose attention maps show side by side: the picked ones while they are
/// there, else the newest and the one before it.
pub fn compared_runs(
    lab: &Lab,
    a: Option<usize>,
    b: Option<usize>,
) -> (Option<usize>, Option<usize>) {
    let present = |id: Option<usize>| id.filter(|id| lab.runs.iter().any(|r| r.id == *id));
    let newest = |back: usize| lab.runs.iter().rev().nth(back).map(|r| r.id);
    (
        present(a).or_else(|| newest(0)),
        present(b).or_else(|| newest(1)),
    )
}

/// Run `id`'s attention map at (layer, head) of the example it shows, if it has one yet.
pub fn run_map(lab: &Lab, id: usize, layer: usize, head: usize) -> Option<AttentionMap> {
    let run = lab.runs.iter().find(|r| r.id == id)?;
    let (_, maps) = example_maps(run);
    maps.into_iter()
        .find(|m| (m.layer, m.head) == (layer, head))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::{page_defaults, views};

    /// Two finished runs of two steps each: the defaults, then with QK-norm.
    fn two_runs() -> Lab {
        let mut lab = Lab::new(page_defaults(), &[("train.steps".into(), "2".into())], None);
        let clock = || 0.0;
        while lab.train(1.0, &clock) > 0 {}
        lab.refresh_attention();
        lab.change("model.qk_norm", "true");
        while lab.train(1.0, &clock) > 0 {}
        lab.refresh_attention();
        lab
    }

    #[test]
    fn picks_round_trip_through_the_select() {
        for pick in [
            LayerPick::Last,
            LayerPick::Layer(3),
            LayerPick::AllOf(SeriesId::Run(12)),
            LayerPick::AllOf(SeriesId::Lane(0)),
        ] {
            assert_eq!(LayerPick::parse(&pick.value()), pick);
        }
        assert_eq!(LayerPick::parse("layer-x"), LayerPick::Last);
        assert_eq!(LayerPick::parse(""), LayerPick::Last);
    }

    /// The picked layer's series of every shown run, read from each run's own records.
    #[test]
    fn a_layer_is_overlaid_across_the_runs() {
        let mut lab = two_runs();
        assert_eq!(lab.runs.len(), 2);
        let record = |run: usize, step: usize| lab.runs[run].session.history[step].clone();
        let lines = layer_lines(&lab, LayerPick::Last, residual_rms);
        assert_eq!(lines.len(), 2, "one line per run");
        for (run, line) in lines.iter().enumerate() {
            assert_eq!(line.label, format!("run {}", run + 1));
            assert_eq!(line.color, lab.runs[run].color);
            let expected: Vec<(f64, f64)> = (0..2)
                .map(|step| (step as f64, f64::from(record(run, step).norms[1].residual)))
                .collect();
            assert_eq!(line.points, expected, "the last of two layers");
        }
        let lines = layer_lines(&lab, LayerPick::Layer(0), layer_grad_norm);
        assert_eq!(
            lines[1].points[1].1,
            f64::from(record(1, 1).layer_grad_norms[0])
        );
        assert_eq!(
            layer_lines(&lab, LayerPick::Layer(2), residual_rms),
            layer_lines(&lab, LayerPick::Last, residual_rms),
            "no run has a third layer: each run's last, as the picker then shows"
        );
        let all = layer_lines(&lab, LayerPick::AllOf(SeriesId::Run(2)), layer_grad_norm);
        assert_eq!(
            all.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(),
            ["layer 0", "layer 1"]
        );
        assert_eq!(
            all[1].points[0].1,
            f64::from(record(1, 0).layer_grad_norms[1])
        );
        lab.toggle_hidden(1);
        let last = layer_lines(&lab, LayerPick::Last, residual_rms);
        assert_eq!(last.len(), 1);
        assert_eq!(
            layer_lines(&lab, LayerPick::AllOf(SeriesId::Run(1)), residual_rms),
            last,
            "a hidden run's pick shows each run's last layer, as its select then does"
        );
        let values: Vec<String> = layer_choices(&lab).into_iter().map(|(v, _)| v).collect();
        assert_eq!(values, ["last", "layer-0", "layer-1", "run-2"]);
    }

    /// Issue 14: the per-layer charts kept the visitor's runs during an experiment. They show
    /// what the loss chart shows: the experiment's lanes.
    #[test]
    fn the_layer_charts_show_the_experiments_lanes() {
        let mut lab = two_runs();
        lab.start_experiment("final-norm").unwrap();
        while lab.experiment_training() {
            lab.train(1.0, &|| 0.0);
        }
        let lanes: Vec<String> = (views::loss_lines(&lab).into_iter())
            .filter(|line| !line.faint)
            .map(|line| line.label.replace(" (validation)", ""))
            .collect();
        assert_eq!(lanes.len(), 4, "{lanes:?}");
        for value in [residual_rms, layer_grad_norm] {
            let lines = layer_lines(&lab, LayerPick::Last, value);
            let labels: Vec<&str> = lines.iter().map(|l| l.label.as_str()).collect();
            assert_eq!(labels, lanes);
            let lane = &lab.experiment.as_ref().unwrap().lockstep.lanes[3];
            let layer = lane.session.run.model.n_layers - 1;
            assert_eq!(
                lines[3].points[0].1,
                f64::from(value(&lane.session.history[0], layer).unwrap()),
                "the lane's own records"
            );
        }
        let values: Vec<String> = layer_choices(&lab).into_iter().map(|(v, _)| v).collect();
        assert_eq!(
            values,
            ["last", "layer-0", "layer-1", "lane-0", "lane-1", "lane-2", "lane-3"]
        );
        let all = layer_lines(&lab, LayerPick::AllOf(SeriesId::Lane(2)), residual_rms);
        assert_eq!(all.len(), 2, "the lane's two layers");
        assert_eq!(
            layer_lines(&lab, LayerPick::AllOf(SeriesId::Run(2)), residual_rms),
            layer_lines(&lab, LayerPick::Last, residual_rms),
            "a run's pick, no longer shown, falls back to each lane's last layer"
        );
        assert_eq!(snapshot(&lab)["norms"], serde_json::json!(lanes));
    }

    /// By default the newest run beside the one before; a picked run stays picked while it is
    /// there. Each side's map is its own run's.
    #[test]
    fn two_runs_maps_side_by_side() {
        let mut lab = two_runs();
        assert_eq!(compared_runs(&lab, None, None), (Some(2), Some(1)));
        assert_eq!(compared_runs(&lab, Some(1), Some(2)), (Some(1), Some(2)));
        assert_eq!(
            compared_runs(&lab, Some(7), None),
            (Some(2), Some(1)),
            "no run 7"
        );
        let (a, b) = (
            run_map(&lab, 2, 1, 3).unwrap(),
            run_map(&lab, 1, 1, 3).unwrap(),
        );
        let t = a.t;
        assert_eq!(
            a.probs,
            lab.runs[1].example.attention[1][3 * t * t..4 * t * t]
        );
        assert_eq!(
            b.probs,
            lab.runs[0].example.attention[1][3 * t * t..4 * t * t]
        );
        assert_ne!(a.probs, b.probs, "two runs, two maps");
        assert!(run_map(&lab, 1, 2, 0).is_none(), "no layer 2");
        lab.remove(1);
        assert_eq!(compared_runs(&lab, None, Some(1)), (Some(2), None));
    }
}
