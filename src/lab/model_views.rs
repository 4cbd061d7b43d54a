//! Views of what the controls' model computes, drawn without training: the MLP's activation
//! functions (the CPU engine's own) and how far attention reaches across depth.

use super::views::shown_model;
use super::{fields, Lab};
use crate::charts::{Dash, Line};
use crate::cpu::activation::activate;
use crate::model::receptive::receptive_field;
use crate::model::Activation;

/// The activation curves span x in ±this.
const CURVE_RANGE: f64 = 4.0;
/// Points per curve: every 0.05.
const CURVE_POINTS: usize = 161;

/// The pointwise functions, each named with the gated unit that applies it to its gate
/// (`act(x W1) * x V`: the curve is the gated unit along y = x V = 1).
const CURVES: [(Activation, &str); 4] = [
    (Activation::Relu, "ReLU (ReGLU: ReLU(x)·y)"),
    (Activation::Gelu, "GeLU, erf (GeGLU: GeLU(x)·y)"),
    (Activation::GeluTanh, "GeLU, tanh (GeGLU tanh)"),
    (Activation::Silu, "SiLU (SwiGLU: SiLU(x)·y)"),
];

/// The activation functions as the CPU engine computes them, the controls' own in bold and
/// named as chosen ("SwiGLU"), the others faint.
pub fn activation_lines(lab: &Lab) -> Vec<Line> {
    let chosen = lab.draft.model.activation;
    let chosen_label = fields::field("model.activation")
        .and_then(|field| fields::option_label(field, &lab.draft))
        .unwrap_or_default();
    CURVES
        .iter()
        .enumerate()
        .map(|(color, &(kind, label))| {
            let this = kind == chosen.pointwise();
            Line {
                label: if this {
                    format!("{label}: this model's {chosen_label}")
                } else {
                    label.to_string()
                },
                points: (0..CURVE_POINTS)
                    .map(|i| {
                        let x = CURVE_RANGE * (2.0 * i as f64 / (CURVE_POINTS - 1) as f64 - 1.0);
                        (x, activate::<f32>(kind, x))
                    })
                    .collect(),
                color,
                faint: !this,
                dash: Dash::Solid,
            }
        })
        .collect()
}

/// How many positions the last position sees after each layer of the controls' model
/// ([`receptive_field`]), and the context (faint, dashed), out of the legend (the chart's title
/// names them); nothing while the controls' model is invalid.
pub fn receptive_lines(lab: &Lab) -> Vec<Line> {
    let Some(model) = shown_model(lab) else {
        return Vec::new();
    };
    let layers = |value: &dyn Fn(usize) -> usize| -> Vec<(f64, f64)> {
        (0..model.n_layers)
            .map(|layer| (layer as f64, value(layer) as f64))
            .collect()
    };
    let field = receptive_field(&model);
    vec![
        Line {
            label: String::new(),
            points: layers(&|layer| field[layer]),
            color: 0,
            faint: false,
            dash: Dash::Solid,
        },
        Line {
            label: String::new(),
            points: layers(&|_| model.context_len),
            color: 6,
            faint: true,
            dash: Dash::Dashed,
        },
    ]
}

/// The receptive field in words: "After layer 0, 1: the last position sees 4, 7 of 32
/// positions (sliding window 4: about layers × (window - 1) + 1)."
pub fn receptive_text(lab: &Lab) -> Option<String> {
    let model = shown_model(lab)?;
    let field = receptive_field(&model);
    let list = |items: Vec<String>| items.join(", ");
    Some(format!(
        "After layer {}: the last position sees {} of {} positions.",
        list((0..model.n_layers).map(|l| l.to_string()).collect()),
        list(field.iter().map(|n| n.to_string()).collect()),
        model.context_len
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::page_defaults;

    /// The curves are the engine's functions at known values; the chosen one is bold.
    #[test]
    fn activation_curves_are_the_engines_functions() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        assert_eq!(lab.draft.model.activation, Activation::Swiglu);
        let lines = activation_lines(&lab);
        let at = |line: &Line, x: f64| {
            let point = line.points.iter().find(|p| (p.0 - x).abs() < 1e-9).unwrap();
            point.1
        };
        // ReLU(-1) = 0, ReLU(2) = 2; Phi(1) = 0.841345; GeLU tanh(1) = 0.841192;
        // SiLU(1) = 1 / (1 + e^-1) = 0.731059.
        assert_eq!((at(&lines[0], -1.0), at(&lines[0], 2.0)), (0.0, 2.0));
        assert!((at(&lines[1], 1.0) - 0.841_344_746).abs() < 1e-6);
        assert!((at(&lines[2], 1.0) - 0.841_191_990).abs() < 1e-6);
        assert!((at(&lines[3], 1.0) - 0.731_058_579).abs() < 1e-6);
        assert_eq!(lines[0].points.len(), CURVE_POINTS);
        assert_eq!((lines[0].points[0].0, lines[0].points[160].0), (-4.0, 4.0));
        let bold: Vec<&str> = (lines.iter().filter(|l| !l.faint))
            .map(|l| l.label.as_str())
            .collect();
        assert_eq!(bold, ["SiLU (SwiGLU: SiLU(x)·y): this model's SwiGLU"]);
        lab.change("model.activation", "gelu_tanh");
        let lines = activation_lines(&lab);
        let bold: Vec<usize> = (0..4).filter(|&i| !lines[i].faint).collect();
        assert_eq!(bold, [2]);
    }

    /// The controls' model at the CPU scale (2 layers, context 32) with a sliding window of 4:
    /// 4 then 7 positions; nothing while the controls' model is invalid.
    #[test]
    fn the_receptive_field_follows_the_controls() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        lab.change("model.attention", r#"{"sliding_window": {"window": 4}}"#);
        assert_eq!(lab.problem, None);
        let lines = receptive_lines(&lab);
        assert_eq!(lines[0].points, [(0.0, 4.0), (1.0, 7.0)]);
        assert_eq!(lines[1].points, [(0.0, 32.0), (1.0, 32.0)]);
        assert_eq!(
            receptive_text(&lab).unwrap(),
            "After layer 0, 1: the last position sees 4, 7 of 32 positions."
        );
        lab.change("model.n_kv_heads", "3");
        assert!(receptive_lines(&lab).is_empty());
        assert_eq!(receptive_text(&lab), None);
    }
}
