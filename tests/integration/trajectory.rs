//! Training from given weights on given tokens follows PyTorch: `archlab train --init
//! <Hugging Face folder> --tokens tokens.json` with the settings of the folder's trajectory.json
//! (20 steps of torch.optim.AdamW in float64, made by `tools/make_hf_fixtures.py
//! --trajectories`) reports every step's loss within relative 1e-4 of PyTorch's on the CPU
//! engine and 1e-3 on the GPU engine.
//!
//! Measured (max over the 20 steps): CPU llama 3.6e-5, qwen3 6.1e-6, gpt2 1.3e-6, mistral 3.3e-7;
//! GPU llama 1.6e-5, mistral 3.1e-6, gpt2 3.1e-6, qwen3 7.2e-7. llama's is the f32 rounding of
//! the trajectory, not a mismatch of settings: one element of layers.0.mlp.up_proj has a first
//! gradient a thousand times below the typical one (a sum that nearly cancels, so f32 activations
//! give it a few per cent of error), and AdamW's first update g / (|g| + eps) moves it by nearly
//! a whole lr whatever its size; PyTorch's own float32 run differs from its float64 run by
//! 1.8e-5 there. Wrong settings miss by far more: decaying the embeddings 2.6e-2 (llama), no
//! weight decay 3.4e-3 or more, no clipping 3.4e-1 or more, eps 1e-7 2.0e-2 (llama).
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use common::{archlab, scratch};

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Families with a trajectory: tied embeddings and biases (llama), untied head, GQA and a
/// sliding window (mistral), learned positions, LayerNorm with biases and Conv1D (gpt2),
/// QK-norm (qwen3).
const FAMILIES: [&str; 4] = ["llama", "mistral", "gpt2", "qwen3"];

fn fixture(family: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(family)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn floats(value: &Value) -> Vec<f64> {
    let array = value.as_array().expect("an array");
    array.iter().map(|v| v.as_f64().unwrap()).collect()
}

/// A column of metrics.csv by its header name, one value per step (NaN where it is empty).
fn column(csv: &str, name: &str) -> Vec<f64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let index = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|line| match line.split(',').nth(index).unwrap() {
            "" => f64::NAN,
            value => value.parse().unwrap(),
        })
        .collect()
}

/// Largest |ours - reference| / |reference| over the steps.
fn max_relative_error(ours: &[f64], reference: &[f64]) -> f64 {
    assert_eq!(ours.len(), reference.len(), "one value per step");
    ours.iter()
        .zip(reference)
        .map(|(a, b)| (a - b).abs() / b.abs())
        .fold(0.0, f64::max)
}

/// Trains `family`'s fixture on `backend` with its trajectory's settings and checks the losses
/// (and the gradient norms before clipping) against PyTorch's: relative `tolerance`.
fn follows_pytorch(family: &str, backend: &str, tolerance: f64) {
    let folder = fixture(family);
    let expected = read_json(&folder.join("trajectory.json"));
    let reference = floats(&expected["loss"]);
    let reference_norms = floats(&expected["grad_norm"]);
    let settings = expected["settings"].as_object().unwrap();
    // The fixture tests what it claims: the loss falls clearly and clipping acts on several
    // steps (and, in all but llama, lets go on some).
    let clipped = reference_norms.iter().filter(|&&n| n > 1.0).count();
    assert!((3..=19).contains(&clipped), "{family}: clipped {clipped}");
    assert!(
        reference[19] < 0.5 * reference[0],
        "{family}: {reference:?}"
    );

    let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("trajectory")
        .join(format!("{family}_{backend}"));
    let _ = std::fs::remove_dir_all(&out);
    let mut args: Vec<String> = ["train", "--backend", backend, "--init"]
        .map(String::from)
        .into();
    args.push(folder.to_str().unwrap().into());
    args.push("--tokens".into());
    args.push(folder.join("tokens.json").to_str().unwrap().into());
    args.push("--out".into());
    args.push(out.to_str().unwrap().into());
    for (key, value) in settings {
        let value = value
            .as_str()
            .map_or_else(|| value.to_string(), String::from);
        args.extend(["--set".into(), format!("train.{key}={value}")]);
    }
    let result = Command::new(env!("CARGO_BIN_EXE_archlab"))
        .args(&args)
        .output()
        .expect("the archlab binary runs");
    assert!(
        result.status.success(),
        "{family} on {backend}: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    let stdout = String::from_utf8_lossy(&result.stdout);
    let engine = if backend == "cpu" {
        "CPU engine"
    } else {
        "WebGPU engine"
    };
    assert!(
        stdout.contains(&format!("archlab train: {engine}")),
        "{stdout}"
    );

    // The run used the trajectory's settings and the fixture's model and tokens.
    let config = read_json(&out.join("config.json"));
    for (key, value) in settings {
        let ours = &config["train"][key];
        match value.as_f64() {
            // archlab holds them as f32.
            Some(number) => assert_eq!(ours.as_f64().map(|v| v as f32), Some(number as f32)),
            None => assert_eq!(ours, value, "{family}: train.{key}"),
        }
    }
    assert_eq!(config["train"]["batch_size"], 2);
    assert_eq!(config["train"]["seq_len"], 8);
    assert_eq!(config["model"]["vocab_size"], 48);
    let tokens = std::fs::read_to_string(folder.join("tokens.json")).unwrap();
    let copied = std::fs::read_to_string(out.join("tokens.json")).unwrap();
    assert_eq!(copied.trim(), tokens.trim().replace(' ', ""));

    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let losses = column(&csv, "loss");
    let norms = column(&csv, "grad_norm");
    let loss_error = max_relative_error(&losses, &reference);
    println!(
        "{family} on {backend}: max relative loss error {loss_error:.2e}, gradient norm \
         error {:.2e}",
        max_relative_error(&norms, &reference_norms)
    );
    for (step, (ours, theirs)) in losses.iter().zip(&reference).enumerate() {
        assert!(
            (ours - theirs).abs() <= tolerance * theirs.abs(),
            "{family} on {backend}, step {step}: loss {ours} vs PyTorch {theirs}"
        );
    }
    // The gradient norm (before clipping) of the given weights, and after one update. Later
    // norms are far more sensitive than the loss to the f32 rounding of the trajectory (llama's
    // last one: 1.5e-2 on the CPU engine, 2e-3 on the GPU, while PyTorch's own float32 run
    // differs from its float64 run by 1.8e-5 in the loss), so they are printed, not bounded.
    let early = max_relative_error(&norms[..2], &reference_norms[..2]);
    assert!(
        early <= tolerance,
        "{family} on {backend}: gradient norms {norms:?} vs PyTorch {reference_norms:?}"
    );
}

#[test]
fn the_cpu_engine_follows_pytorch_adamw_within_1e_4() {
    for family in FAMILIES {
        follows_pytorch(family, "cpu", 1e-4);
    }
}

/// On lavapipe here and in CI; skipped without an adapter unless `REQUIRE_GPU=1`.
#[test]
fn the_gpu_engine_follows_pytorch_adamw_within_1e_3() {
    if std::env::var("REQUIRE_GPU").as_deref() != Ok("1")
        && pollster::block_on(archlab::gpu::GpuContext::new()).is_err()
    {
        eprintln!("skipping: no GPU adapter");
        return;
    }
    for family in FAMILIES {
        follows_pytorch(family, "gpu", 1e-3);
    }
}

/// Our own run folder is a starting point too: it keeps the model and the weights (not the
/// optimizer state or the step). The validation on `--tokens` scores the same batch after each
/// step's update, so a run started from a run's folder begins at that run's last val_loss.
#[test]
fn init_from_our_run_folder_continues_from_its_weights() {
    let dir = scratch("trajectory_init_ours");
    let llama = fixture("llama");
    let tokens = llama.join("tokens.json");
    let (first, second) = (dir.join("first"), dir.join("second"));
    for (from, out, steps) in [(&llama, &first, "3"), (&first, &second, "2")] {
        let result = archlab(&[
            "train",
            "--backend",
            "cpu",
            "--init",
            from.to_str().unwrap(),
            "--tokens",
            tokens.to_str().unwrap(),
            "--set",
            &format!("train.steps={steps}"),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(
            result.status.success(),
            "{}",
            String::from_utf8_lossy(&result.stderr)
        );
    }
    let metrics = |run: &Path| std::fs::read_to_string(run.join("metrics.csv")).unwrap();
    let losses = column(&metrics(&first), "loss");
    let val_losses = column(&metrics(&first), "val_loss");
    let expected = read_json(&llama.join("expected.json"))["loss"]
        .as_f64()
        .unwrap();
    assert!(
        (losses[0] - expected).abs() <= 1e-5 * expected,
        "{losses:?}"
    );
    let next = column(&metrics(&second), "loss")[0];
    let last_val = val_losses[2];
    assert!(
        val_losses[1].is_nan(),
        "evaluations at the first and the last step only"
    );
    assert!(
        (next - last_val).abs() <= 1e-6 * last_val,
        "{next} vs {last_val}"
    );
    assert!(
        next < losses[2],
        "training lowered the loss: {losses:?}, then {next}"
    );
    let manifest = read_json(&second.join("archlab.json"));
    assert_eq!(manifest["step"], 2, "a new run: the step count starts at 0");
}

#[test]
fn init_and_tokens_refuse_bad_input_and_write_nothing() {
    let dir = scratch("trajectory_refusals");
    let llama = fixture("llama");
    let (llama, good) = (
        llama.to_str().unwrap(),
        llama.join("tokens.json").to_str().unwrap().to_string(),
    );
    let file = |name: &str, text: &str| {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let long = format!("[{:?}]", vec![1; 40]);
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--tokens".into(), good.clone()],
            "error: tokens: needs --init DIR or --resume DIR",
        ),
        (
            vec![
                "--init".into(),
                llama.into(),
                "--tokens".into(),
                file("a.json", "[[1, 2, 300]]"),
            ],
            "error: tokens: token id 300 is outside the model's vocabulary of 48",
        ),
        (
            vec![
                "--init".into(),
                llama.into(),
                "--tokens".into(),
                file("b.json", "[[1, 2], [3]]"),
            ],
            "error: tokens: sequence 1 has 1 tokens, sequence 0 has 2",
        ),
        (
            vec![
                "--init".into(),
                llama.into(),
                "--tokens".into(),
                file("c.json", &long),
            ],
            "error: tokens: sequences of 40 tokens exceed the model's context of 32",
        ),
        (
            vec![
                "--init".into(),
                llama.into(),
                "--tokens".into(),
                file("d.json", "[1, 2]"),
            ],
            "error: tokens: not a JSON array of arrays of token ids",
        ),
        (
            vec!["--init".into(), dir.join("none").to_str().unwrap().into()],
            "error: init: ",
        ),
        (
            vec![
                "--init".into(),
                llama.into(),
                "--set".into(),
                "model.n_layers=3".into(),
            ],
            "error: model: the architecture comes from --init DIR and cannot change",
        ),
        (
            // The built-in corpus has 65 characters; the model embeds 48 ids.
            vec!["--init".into(), llama.into()],
            "error: data: its 65 token ids do not fit the model's vocabulary of 48",
        ),
    ];
    for (i, (args, message)) in cases.into_iter().enumerate() {
        let out = dir.join(format!("run{i}"));
        let mut all = vec!["train", "--backend", "cpu", "--out", out.to_str().unwrap()];
        all.extend(args.iter().map(String::as_str));
        let result = archlab(&all);
        let stderr = String::from_utf8_lossy(&result.stderr);
        assert_eq!(result.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            stderr.starts_with(message),
            "expected {message:?}, got {stderr:?}"
        );
        assert!(!out.exists(), "{args:?} wrote {}", out.display());
    }
    // Weights to start from and a run to continue are two different things.
    let both = archlab(&["train", "--init", llama, "--resume", llama]);
    assert_eq!(both.status.code(), Some(2));
}
