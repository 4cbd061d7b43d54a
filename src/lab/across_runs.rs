//! Views that compare runs, not only the newest: a per-layer number (residual-stream RMS,
//! gradient norm) at a picked layer across the runs, and the attention maps of two runs side
//! by side.

use super::views::{example_maps, run_dash, shown};
use super::{Lab, RunEntry};
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
    /// Every layer of run `id`, one line each.
    AllOf(usize),
}

impl LayerPick {
    /// The pick as a select's value: "last", "layer-2", "run-3".
    pub fn value(self) -> String {
        match self {
            Self::Last => "last".into(),
            Self::Layer(layer) => format!("layer-{layer}"),
            Self::AllOf(id) => format!("run-{id}"),
        }
    }

    /// A select's value back as a pick; anything else is [`LayerPick::Last`].
    pub fn parse(value: &str) -> Self {
        let number = |prefix| value.strip_prefix(prefix)?.parse().ok();
        if let Some(layer) = number("layer-") {
            Self::Layer(layer)
        } else if let Some(id) = number("run-") {
            Self::AllOf(id)
        } else {
            Self::Last
        }
    }
}

/// The layer picker's options, (value, label): each run's last layer, every layer of the
/// deepest shown run, and all layers of each shown run.
pub fn layer_choices(lab: &Lab) -> Vec<(String, String)> {
    let deepest = shown(lab).map(layers).max().unwrap_or(0);
    let mut choices = vec![(
        LayerPick::Last.value(),
        "last layer (each run's)".to_string(),
    )];
    choices.extend(
        (0..deepest).map(|layer| (LayerPick::Layer(layer).value(), format!("layer {layer}"))),
    );
    choices.extend(shown(lab).map(|run| {
        (
            LayerPick::AllOf(run.id).value(),
            format!("all layers of run {}", run.id),
        )
    }));
    choices
}

fn layers(run: &RunEntry) -> usize {
    run.session.run.model.n_layers
}

/// A per-layer number over the steps at `pick`: one line per shown run in its colour and
/// stroke (as on the loss chart), or one per layer of one run in the palette's order.
pub fn layer_lines(
    lab: &Lab,
    pick: LayerPick,
    value: fn(&StepRecord, usize) -> Option<f32>,
) -> Vec<Line> {
    let points = |run: &RunEntry, layer: usize| -> Vec<(f64, f64)> {
        (run.session.history.iter())
            .filter_map(|r| Some((r.step as f64, f64::from(value(r, layer)?))))
            .collect()
    };
    if let LayerPick::AllOf(id) = pick {
        return shown(lab)
            .filter(|run| run.id == id)
            .flat_map(|run| {
                (0..layers(run)).map(move |layer| Line {
                    label: format!("layer {layer}"),
                    points: points(run, layer),
                    color: layer,
                    faint: false,
                    dash: Dash::nth(layer, PALETTE.len()),
                })
            })
            .collect();
    }
    // The picked layer of a run, if it has one (AllOf returned above).
    let layer_of = |run: &RunEntry| match pick {
        LayerPick::Layer(n) => (n < layers(run)).then_some(n),
        LayerPick::Last | LayerPick::AllOf(_) => layers(run).checked_sub(1),
    };
    shown(lab)
        .filter_map(|run| {
            Some(Line {
                label: format!("run {}", run.id),
                points: points(run, layer_of(run)?),
                color: run.color,
                faint: false,
                dash: run_dash(run),
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
    use crate::lab::page_defaults;

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
        for pick in [LayerPick::Last, LayerPick::Layer(3), LayerPick::AllOf(12)] {
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
        assert!(
            layer_lines(&lab, LayerPick::Layer(2), residual_rms).is_empty(),
            "no run has a third layer"
        );
        let all = layer_lines(&lab, LayerPick::AllOf(2), layer_grad_norm);
        assert_eq!(
            all.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(),
            ["layer 0", "layer 1"]
        );
        assert_eq!(
            all[1].points[0].1,
            f64::from(record(1, 0).layer_grad_norms[1])
        );
        lab.toggle_hidden(1);
        assert_eq!(layer_lines(&lab, LayerPick::Last, residual_rms).len(), 1);
        assert!(
            layer_lines(&lab, LayerPick::AllOf(1), residual_rms).is_empty(),
            "hidden"
        );
        let values: Vec<String> = layer_choices(&lab).into_iter().map(|(v, _)| v).collect();
        assert_eq!(values, ["last", "layer-0", "layer-1", "run-2"]);
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
