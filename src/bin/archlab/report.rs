//! What `archlab train` leaves in its folder: the resolved configuration, metrics as JSONL and
//! CSV, PNG charts, a text sample for text data, and a summary.

use std::fmt::Write as _;
use std::path::Path;

use archlab::charts::{self, Axes, Line, Scale};
use archlab::contract::engine::{generate, wait};
use archlab::contract::Engine;
use archlab::lab::page_text::ENGLISH;
use archlab::train::metrics;
use archlab::train::session::{RunStatus, Session, StepRecord};
use plotters::prelude::*;

/// Chart size in pixels: legible on a projector.
const CHART: (u32, u32) = (1000, 600);
/// Characters of generated text in `sample.txt`.
const SAMPLE_TOKENS: usize = 300;

/// Writes every output and returns the summary line.
pub fn write(session: &Session, engine: &mut dyn Engine, out: &Path) -> Result<String, String> {
    let io = |what: &'static str| move |e: std::io::Error| format!("{what}: {e}");
    std::fs::write(
        out.join("config.json"),
        serde_json::to_string_pretty(&session.run).expect("a config serialises"),
    )
    .map_err(io("config.json"))?;
    let mut jsonl = String::new();
    for record in &session.history {
        jsonl.push_str(&serde_json::to_string(record).expect("records serialise"));
        jsonl.push('\n');
    }
    std::fs::write(out.join("metrics.jsonl"), jsonl).map_err(io("metrics.jsonl"))?;
    std::fs::write(out.join("metrics.csv"), metrics::csv(&session.history))
        .map_err(io("metrics.csv"))?;
    draw_charts(session, engine, out)?;

    let mut sample = None;
    if let Some(tokenizer) = session.data.tokenizer() {
        let prompt = session.display_batch().inputs[..1].to_vec();
        let seed = session.run.train.seed;
        let tokens = generate(engine, &prompt, SAMPLE_TOKENS, 0.8, 0, seed)
            .map_err(|e| format!("sample.txt: {e}"))?;
        let text = tokenizer.decode(&[prompt, tokens].concat());
        std::fs::write(out.join("sample.txt"), &text).map_err(io("sample.txt"))?;
        sample = Some(text);
    }

    let last = session.history.last();
    let last_val = session.last_val_loss();
    let last_accuracy = session.history.iter().rev().find_map(|r| r.val_accuracy);
    let last_bpc = session.history.iter().rev().find_map(|r| r.val_bpc);
    let mean_tokens_per_second = session.mean_tokens_per_second();
    let summary = serde_json::json!({
        "status": session.status,
        "steps": session.steps_done(),
        "loss": last.map(|r| r.loss),
        "val_loss": last_val,
        "val_accuracy": last_accuracy,
        "val_bpc": last_bpc,
        "log_z": last.map(|r| r.log_z),
        "param_norm": last.map(|r| r.param_norm),
        "tokens_per_second": mean_tokens_per_second,
        "parameters": session.run.model.param_count().total(),
    });
    std::fs::write(
        out.join("summary.json"),
        serde_json::to_string_pretty(&summary).expect("json serialises"),
    )
    .map_err(io("summary.json"))?;

    let status = match session.status {
        RunStatus::Training => "stopped".to_string(),
        RunStatus::Finished => "finished".to_string(),
        RunStatus::Diverged { step } => format!("DIVERGED at step {step}"),
        RunStatus::Stopped { step } => format!("STOPPED by an engine error at step {step}"),
        RunStatus::Halted { step } => format!("stopped at step {step}"),
    };
    let mut line = format!("{status}: {} steps", session.steps_done());
    if let Some(last) = last {
        write!(line, ", train loss {:.4}", last.loss).expect("writing to a String");
    }
    if let Some(val) = last_val {
        write!(line, ", val loss {val:.4}").expect("writing to a String");
    }
    if let Some(bpc) = last_bpc {
        write!(line, " ({bpc:.4} bits/char)").expect("writing to a String");
    }
    if let Some(accuracy) = last_accuracy {
        write!(line, ", val accuracy {:.1}%", accuracy * 100.0).expect("writing to a String");
    }
    write!(
        line,
        ", {mean_tokens_per_second:.0} tokens/s; wrote {}",
        out.display()
    )
    .expect("writing to a String");
    if let Some(sample) = sample {
        let preview: String = sample.chars().take(120).collect();
        line = format!("sample: {preview:?}\n{line}");
    }
    Ok(line)
}

fn draw_charts(session: &Session, engine: &mut dyn Engine, out: &Path) -> Result<(), String> {
    register_font()?;
    let history = &session.history;
    let series =
        |label: &str, color: usize, faint: bool, value: &dyn Fn(&StepRecord) -> Option<f64>| Line {
            label: label.into(),
            points: history
                .iter()
                .filter_map(|r| value(r).map(|v| (r.step as f64, v)))
                .collect(),
            color,
            faint,
            dash: charts::Dash::Solid,
        };

    let loss = [
        series("train", 0, true, &|r| Some(f64::from(r.loss))),
        series("validation", 0, false, &|r| r.val_loss.map(f64::from)),
    ];
    let axes = Axes {
        title: "Loss",
        x: "step",
        y: "cross-entropy (nats)",
        log_y: true,
        log_x: false,
        log_axis: ENGLISH.log_axis,
    };
    line_png(&out.join("loss.png"), axes, &loss)?;

    let layers = history.first().map_or(0, |r| r.norms.len());
    let mut norms = Vec::new();
    for l in 0..layers {
        norms.push(series(&format!("L{l} residual"), l, false, &|r| {
            Some(f64::from(r.norms[l].residual))
        }));
        norms.push(series(&format!("L{l} attn out"), l, true, &|r| {
            Some(f64::from(r.norms[l].attn))
        }));
        norms.push(series(&format!("L{l} mlp out"), l, true, &|r| {
            Some(f64::from(r.norms[l].mlp))
        }));
    }
    let axes = Axes {
        title: "Activation RMS per layer (residual stream bold, branch outputs faint)",
        x: "step",
        y: "RMS",
        log_y: true,
        log_x: false,
        log_axis: ENGLISH.log_axis,
    };
    line_png(&out.join("norms.png"), axes, &norms)?;

    let optimizer = [
        series("grad norm (before clipping)", 1, false, &|r| {
            Some(f64::from(r.grad_norm))
        }),
        series("learning rate x 100", 2, false, &|r| {
            Some(f64::from(r.lr) * 100.0)
        }),
        series("parameter norm (after the update)", 3, false, &|r| {
            Some(f64::from(r.param_norm))
        }),
    ];
    let axes = Axes {
        title: "Gradient norm, learning rate and parameter norm",
        x: "step",
        y: "value",
        log_y: true,
        log_x: false,
        log_axis: ENGLISH.log_axis,
    };
    line_png(&out.join("optimizer.png"), axes, &optimizer)?;

    let gradients: Vec<Line> = (0..layers)
        .map(|l| {
            series(&format!("L{l}"), l, false, &|r| {
                r.layer_grad_norms.get(l).map(|&g| f64::from(g))
            })
        })
        .collect();
    let axes = Axes {
        title: "Gradient norm per layer (before clipping)",
        x: "step",
        y: "L2 norm",
        log_y: true,
        log_x: false,
        log_axis: ENGLISH.log_axis,
    };
    line_png(&out.join("gradients.png"), axes, &gradients)?;

    let log_z = [series("log Z", 0, false, &|r| Some(f64::from(r.log_z)))];
    let axes = Axes {
        title: "Softmax normaliser log Z (mean over the batch; what z-loss penalises)",
        x: "step",
        y: "nats",
        log_y: false,
        log_x: false,
        log_axis: ENGLISH.log_axis,
    };
    line_png(&out.join("log_z.png"), axes, &log_z)?;

    let example = session.display_batch();
    let (t, heads) = (example.seq, session.run.model.n_heads);
    let probs = wait(engine.start_views(&example.inputs[..example.seq]))
        .map_err(|e| format!("attention.png: {e}"))?
        .attention;
    let maps = archlab::lab::attention_maps(&session.run.model, &probs, t);
    let size = (
        220 * heads as u32 + 40,
        220 * session.run.model.n_layers as u32 + 60,
    );
    let path = out.join("attention.png");
    let area = BitMapBackend::new(&path, size).into_drawing_area();
    charts::draw_attention_grid(
        &area,
        Scale::ONE,
        "Attention (validation example 0; rows: queries)",
        charts::MapText::ENGLISH,
        &maps,
    )?;
    Ok(())
}

fn line_png(path: &Path, axes: Axes, lines: &[Line]) -> Result<(), String> {
    charts::draw_lines(
        &BitMapBackend::new(path, CHART).into_drawing_area(),
        Scale::ONE,
        axes,
        lines,
    )
}

/// plotters' bitmap backend draws text with a font registered by name; the bundled DejaVu Sans
/// keeps charts identical on every machine.
pub fn register_font() -> Result<(), String> {
    static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| "the bundled font is not a valid TrueType font".to_string())
}
