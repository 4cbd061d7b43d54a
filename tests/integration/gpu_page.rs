//! The page's training loop on the WebGPU engine (lavapipe): driven as the page drives it
//! (submit ahead, await each read, collect reports as they arrive), a run records the same
//! history as the same run on the CPU engine, and its attention maps and sample logits agree.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::rc::Rc;

use archlab::contract::engine::{start_next_token, wait};
use archlab::cpu::CpuEngine;
use archlab::gpu::engine::GpuEngine;
use archlab::lab::checkpoints::CheckpointOf;
use archlab::lab::engine_choice::EngineChoice;
use archlab::lab::{page_defaults, Lab, RESUME_EVERY};
use archlab::model::ModelConfig;
use archlab::train::session::RunStatus;
use common::{clock, drive};

/// A tiny run whose steps 0, 3, 6 and 7 evaluate, on the WebGPU engine where there is a device
/// (lavapipe is a software adapter: `auto` would choose the CPU engine).
fn settings() -> Vec<(String, String)> {
    [
        ("engine", "gpu"),
        ("model.d_model", "16"),
        ("model.n_layers", "2"),
        ("model.n_heads", "2"),
        ("model.n_kv_heads", "2"),
        ("model.context_len", "16"),
        ("train.batch_size", "4"),
        ("train.seq_len", "16"),
        ("train.steps", "8"),
        ("train.eval_interval", "3"),
        ("train.warmup_steps", "2"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into()
}

fn rel(a: f32, b: f32) -> f64 {
    (f64::from(a) - f64::from(b)).abs() / f64::from(a.abs()).max(1e-6)
}

#[test]
fn a_page_run_on_the_gpu_records_what_the_cpu_engine_records() {
    let Some(ctx) = common::gpu() else { return };
    let ctx = Rc::new(ctx);
    let mut cpu = Lab::new(page_defaults(), &settings(), None);
    let mut gpu = Lab::new(page_defaults(), &settings(), Some(ctx.clone()));
    assert!(!cpu.on_gpu() && gpu.on_gpu());
    assert_eq!(
        (cpu.runs.len(), gpu.runs.len()),
        (1, 1),
        "{:?}",
        cpu.problems()
    );
    assert_eq!(
        cpu.draft, gpu.draft,
        "the URL's sizes override the CPU scale"
    );
    let now = clock();
    while cpu.train(10.0, &now) > 0 {}
    assert_eq!(cpu.train(10.0, &now), 0);
    assert_eq!(
        gpu.train(10.0, &now),
        0,
        "the CPU loop leaves GPU runs alone"
    );
    drive(&mut gpu);

    let (c, g) = (&cpu.runs[0].session, &gpu.runs[0].session);
    assert_eq!(c.status, RunStatus::Finished);
    assert_eq!(g.status, RunStatus::Finished);
    assert_eq!(g.history.len(), 8);
    // Bounds as tests/integration/gpu_engine.rs derives them for the engines' statistics and views.
    for (c, g) in c.history.iter().zip(&g.history) {
        let step = c.step;
        assert_eq!(c.step, g.step);
        assert_eq!(c.lr, g.lr, "step {step}");
        assert!(rel(c.loss, g.loss) <= 1e-5, "step {step}: {c:?} vs {g:?}");
        assert!(rel(c.grad_norm, g.grad_norm) <= 1e-4, "step {step}");
        assert_eq!(c.val_loss.is_some(), g.val_loss.is_some(), "step {step}");
        if let (Some(a), Some(b)) = (c.val_loss, g.val_loss) {
            assert!(rel(a, b) <= 1e-5, "step {step}: validation {a} vs {b}");
            let (a, b) = (c.val_accuracy.unwrap(), g.val_accuracy.unwrap());
            assert!((a - b).abs() <= 0.01, "step {step}: accuracy {a} vs {b}");
            // Scored alike from the validation logits (contract::score): no engine change.
            let (a, b) = (c.val_bpc.unwrap(), g.val_bpc.unwrap());
            assert!(
                rel(a, b) <= 1e-5,
                "step {step}: bits per character {a} vs {b}"
            );
        }
        for (a, b) in c.norms.iter().zip(&g.norms) {
            assert!(rel(a.residual, b.residual) <= 1e-5, "step {step}");
            assert!(rel(a.mlp, b.mlp) <= 1e-5, "step {step}");
        }
        for (a, b) in c.max_attention_logit.iter().zip(&g.max_attention_logit) {
            assert!((a - b).abs() <= 1e-5, "step {step}");
        }
        assert!(g.tokens_per_second.is_finite() && g.tokens_per_second > 0.0);
    }

    // Attention maps and norms of the display example, then of the visitor's own text, read
    // asynchronously on the GPU.
    for probe in ["", "to be or not"] {
        cpu.look_at(probe).unwrap();
        gpu.look_at(probe).unwrap();
        assert!(
            cpu.refresh_attention().is_none(),
            "the CPU computes at once"
        );
        // The GPU hands a read unless it has already arrived.
        if let Some(read) = gpu.refresh_attention() {
            gpu.read_done(1, pollster::block_on(read.wait()));
        }
        let (c, g) = (&cpu.runs[0].example, &gpu.runs[0].example);
        let t = if probe.is_empty() { 16 } else { probe.len() };
        assert_eq!(c.tokens.len(), t);
        assert_eq!(c.tokens, g.tokens);
        assert_eq!(c.attention.len(), 2);
        for (c, g) in c.attention.iter().zip(&g.attention) {
            assert_eq!(c.len(), 2 * t * t);
            assert_eq!(c.len(), g.len());
            let worst = c
                .iter()
                .zip(g)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(worst <= 1e-5, "attention differs by {worst:e}");
        }
        assert_eq!(c.norms.len(), 2);
        for (a, b) in c.norms.iter().zip(&g.norms) {
            assert!(rel(a.residual, b.residual) <= 1e-5, "{a:?} vs {b:?}");
            assert!(rel(a.attn, b.attn) <= 1e-5, "{a:?} vs {b:?}");
        }
    }

    // The text sample grows a token per read (a few at once if they have already arrived).
    let before = gpu.runs[0].sample.chars().count();
    assert_eq!(before, 0);
    if let Some(read) = gpu.extend_sample() {
        gpu.read_done(1, pollster::block_on(read.wait()));
    }
    let grown = gpu.runs[0].sample.chars().count();
    assert!(
        (9..=12).contains(&grown),
        "8 prompt characters + 1 to 4: {grown}"
    );
}

/// A sample token's logits come from the window right-padded to the context: the same as the
/// CPU engine's logits of the unpadded window, for a window shorter than the context and for a
/// sequence longer than it (its last `context_len` tokens).
#[test]
fn next_token_logits_ignore_the_padding() {
    let Some(ctx) = common::gpu() else { return };
    let config = ModelConfig {
        vocab_size: 11,
        d_model: 16,
        n_heads: 2,
        n_kv_heads: 2,
        context_len: 8,
        ..ModelConfig::default()
    };
    let mut cpu = CpuEngine::new(&config, 4).unwrap();
    let mut gpu = GpuEngine::new(Rc::new(ctx), &config, 4).unwrap();
    let tokens: Vec<u32> = (0..13).map(|i| (i * 7 + 3) % 11).collect();
    for len in [1usize, 5, 13] {
        let window = &tokens[len.saturating_sub(8)..len];
        let logits = cpu.logits(window, 1, window.len());
        let expected = &logits[(window.len() - 1) * 11..];
        let got = wait(start_next_token(&mut gpu, &tokens[..len])).unwrap();
        assert_eq!(got.len(), 11);
        let scale = expected.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        for (a, b) in expected.iter().zip(&got) {
            assert!(
                (a - b).abs() <= 1e-5 * scale.max(1.0),
                "len {len}: {a} vs {b}"
            );
        }
    }
}

/// Without a GPU the lab starts at the CPU scale; sizes in the URL win over it.
#[test]
fn the_cpu_scale_applies_only_without_a_gpu_and_below_the_url() {
    let lab = Lab::new(page_defaults(), &[], None);
    assert_eq!(lab.draft.model.d_model, 32);
    assert!(
        lab.runs[0].engine.as_deref().unwrap().completes_at_once(),
        "the CPU engine"
    );
    let url = [("model.d_model".to_string(), "48".to_string())];
    assert_eq!(
        Lab::new(page_defaults(), &url, None).draft.model.d_model,
        48
    );
    let Some(ctx) = common::gpu() else { return };
    let on_gpu = [("engine".to_string(), "gpu".to_string())];
    let lab = Lab::new(page_defaults(), &on_gpu, Some(Rc::new(ctx)));
    assert_eq!(lab.draft, page_defaults());
    assert!(lab.runs[0]
        .engine
        .as_deref()
        .unwrap()
        .describe()
        .starts_with("WebGPU engine on "));
}

/// Trains the newest run of a CPU lab to its end.
fn train_on_cpu(lab: &mut Lab) {
    let now = clock();
    while lab.train(10.0, &now) > 0 {}
}

/// The page saves a run as one file and opens it again as a run that continues from the saved
/// step: its next losses are those of the run trained on without a stop, on the CPU engine and,
/// saved from and opened on the GPU, within the engines' agreement.
#[test]
fn a_saved_run_opens_again_and_continues_where_it_stopped() {
    let with_steps = |steps: &str| {
        let mut s = settings();
        s.retain(|(k, _)| k != "train.steps");
        s.push(("train.steps".into(), steps.into()));
        s
    };
    let mut straight = Lab::new(page_defaults(), &with_steps("8"), None);
    train_on_cpu(&mut straight);
    let expected: Vec<f32> = straight.runs[0]
        .session
        .history
        .iter()
        .map(|r| r.loss)
        .collect();

    // The same run, stopped after 4 of its 8 steps (a budget of 0 takes one step per call).
    let mut lab = Lab::new(page_defaults(), &with_steps("8"), None);
    let now = clock();
    for _ in 0..4 {
        assert_eq!(lab.train(0.0, &now), 1);
    }
    let CheckpointOf::Ready(saved) = lab.runs[0].checkpoint().expect("the CPU saves at once")
    else {
        panic!("the CPU engine saves at once")
    };
    let (_, bytes) = saved.to_bytes().unwrap();
    let name = archlab::lab::checkpoints::file_name(&lab.runs[0]);
    assert_eq!(name, "archlab-run-1-step-4.safetensors");
    let label = lab
        .open_checkpoint(&[(name.clone(), bytes.clone())])
        .unwrap();
    assert_eq!(label, "run 2: opened checkpoint at step 4");
    train_on_cpu(&mut lab);
    let continued: Vec<f32> = lab.runs[1].session.history.iter().map(|r| r.loss).collect();
    assert_eq!(lab.runs[1].session.first_step, 4);
    assert_eq!(continued, expected[4..], "bit for bit on the CPU engine");
    // A reset starts from the opened checkpoint again.
    lab.reset();
    assert_eq!(lab.runs[1].session.steps_done(), 4);

    let Some(ctx) = common::gpu() else { return };
    let ctx = Rc::new(ctx);
    let mut gpu = Lab::new(page_defaults(), &with_steps("8"), Some(ctx.clone()));
    gpu.open_checkpoint(&[(name, bytes)]).unwrap();
    drive(&mut gpu);
    let on_gpu: Vec<f32> = gpu.runs[1].session.history.iter().map(|r| r.loss).collect();
    assert_eq!(on_gpu.len(), 4);
    for (c, g) in expected[4..].iter().zip(&on_gpu) {
        assert!(rel(*c, *g) <= 1e-5, "{c} vs {g}");
    }
    // Saved from the GPU once its steps are in: the parameters and moments of step 8.
    let saved = gpu.runs[1].checkpoint().expect("nothing in flight");
    let saved = pollster::block_on(saved.wait()).unwrap();
    assert_eq!(saved.step, 8);
    let optimizer = saved.optimizer.expect("the moments are saved");
    let (params, m) = (saved.params, optimizer.m);
    let cpu_params = wait(straight.runs[0].engine.as_deref().unwrap().start_state())
        .unwrap()
        .params;
    let worst = params
        .iter()
        .zip(&cpu_params)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(
        worst <= 6e-5,
        "parameters after 8 steps differ by {worst:e}"
    );
    assert!(m.iter().any(|v| *v != 0.0), "AdamW moments are saved");
}

/// A Hugging Face folder opens with the page's data when its tokens fit the vocabulary, and
/// is refused, naming the data as the reason, when they do not; the refusal changes nothing
/// (the page shows the reason beside the checkpoint control, not on the controls).
#[test]
fn a_hugging_face_folder_opens_when_the_data_fits_its_vocabulary() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hf/llama");
    let files: Vec<(String, Vec<u8>)> = ["config.json", "model.safetensors"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(folder.join(f)).unwrap()))
        .collect();
    // Shakespeare's 65 characters do not fit the fixture's 48 ids.
    let mut lab = Lab::new(page_defaults(), &[], None);
    let error = lab.open_checkpoint(&files).unwrap_err();
    assert_eq!(error.field, "data.source");
    assert!(error.reason.contains("vocabulary"), "{error}");
    assert_eq!(lab.runs.len(), 1, "no run started");
    assert!(
        lab.error_for("data.source").is_none(),
        "the controls are as they were"
    );
    let task = r#"{"type":"task","task":"copy","length":6,"symbols":10}"#;
    let mut lab = Lab::new(
        page_defaults(),
        &[("data.source".into(), task.into())],
        None,
    );
    let label = lab.open_checkpoint(&files).unwrap();
    assert_eq!(label, "run 2: opened LlamaForCausalLM");
    let run = lab.runs.last().unwrap();
    assert_eq!(run.session.run.model.vocab_size, 48);
    assert!(run.session.run.train.seq_len <= run.session.run.model.context_len);
    train_on_cpu(&mut lab);
    assert!(lab.runs.last().unwrap().session.steps_done() > 0);
}

/// A lecture experiment on the GPU: every variant at every seed trains on the WebGPU engine in
/// lockstep, driven as the page drives it, each lane to its end with its validations scored;
/// the visitor's run waits meanwhile.
#[test]
fn a_lecture_experiment_runs_its_lanes_in_lockstep_on_the_gpu() {
    let Some(ctx) = common::gpu() else { return };
    let ctx = Rc::new(ctx);
    let mut lab = Lab::new(page_defaults(), &settings(), Some(ctx.clone()));
    lab.change("train.steps", "3");
    lab.start_experiment("final-norm").unwrap();
    let experiment = lab.experiment.as_ref().unwrap();
    assert!(!experiment.completes_at_once(), "on the GPU engine");
    // Driven as the page drives it, but with the validation reads handed back late (the page
    // awaits them in tasks of their own): after every turn the lanes' recorded steps are
    // within one of each other.
    let now = clock();
    let mut held = Vec::new();
    for turn in 1.. {
        if lab.gpu_experiment().is_none() {
            break;
        }
        assert!(turn < 1000, "the experiment never ends");
        held.extend(lab.gpu_pump(&now, 1));
        if turn % 3 == 0 {
            for read in held.drain(..) {
                let result = pollster::block_on(read.wait());
                lab.read_done(0, result);
            }
        }
        if let Some(arrival) = lab.gpu_next_report() {
            wait(arrival).unwrap();
        }
        let lanes = &lab.experiment.as_ref().unwrap().lockstep.lanes;
        let steps: Vec<usize> = lanes.iter().map(|l| l.session.steps_done()).collect();
        let (min, max) = (steps.iter().min().unwrap(), steps.iter().max().unwrap());
        assert!(max - min <= 1, "lanes apart after turn {turn}: {steps:?}");
    }
    let experiment = lab.experiment.as_ref().unwrap();
    let lanes: Vec<(&str, usize, usize, bool, bool)> = (experiment.lockstep.lanes.iter())
        .map(|l| {
            (
                experiment.label(l.variant),
                l.seed,
                l.session.steps_done(),
                l.session.run.model.final_norm,
                l.session.last_val_loss().is_some(),
            )
        })
        .collect();
    assert_eq!(
        lanes,
        [
            ("final norm", 0, 3, true, true),
            ("final norm", 1, 3, true, true),
            ("no final norm", 0, 3, false, true),
            ("no final norm", 1, 3, false, true),
        ]
    );
    assert!(experiment
        .banner(archlab::lab::i18n::Lang::En)
        .contains("finished"));
    assert!(experiment.judged().is_some());
    assert_eq!(lab.runs.last().unwrap().session.steps_done(), 0);
}

/// An experiment's lanes on the GPU keep resume points (their state read back as the page
/// reads it, handed back late) and, when the device goes, continue on the CPU engine from
/// them: the history to the point stays, and the steps after it are trained again with the
/// losses they had on the GPU (within the engines' rounding).
#[test]
fn experiment_lanes_resume_on_the_cpu_engine_from_their_gpu_resume_points() {
    let Some(ctx) = common::gpu() else { return };
    let ctx = Rc::new(ctx);
    let mut lab = Lab::new(page_defaults(), &settings(), Some(ctx));
    lab.change("train.steps", &(RESUME_EVERY + 10).to_string());
    lab.change("train.eval_interval", "25");
    lab.start_experiment("final-norm").unwrap();
    let lost_at = RESUME_EVERY + 3;
    let losses = |lab: &Lab| -> Vec<Vec<f32>> {
        let lanes = &lab.experiment.as_ref().unwrap().lockstep.lanes;
        (lanes.iter())
            .map(|l| l.session.history.iter().map(|r| r.loss).collect())
            .collect()
    };
    let now = clock();
    let mut held = Vec::new();
    while losses(&lab).iter().any(|l| l.len() < lost_at) {
        held.extend(lab.gpu_pump(&now, 1));
        // The page awaits its reads in tasks of their own: here a turn late.
        if let Some(arrival) = lab.gpu_next_report() {
            wait(arrival).unwrap();
        }
        for read in held.drain(..) {
            let result = pollster::block_on(read.wait());
            lab.read_done(0, result);
        }
    }
    let on_gpu = losses(&lab);

    lab.resume_after_device_loss(None, "simulated");
    let banner = (lab.experiment.as_ref().unwrap()).banner(archlab::lab::i18n::Lang::En);
    let said = format!("The lanes resumed from step {RESUME_EVERY} on the CPU engine");
    assert!(banner.ends_with(&said), "{banner}");
    for (kept, before) in losses(&lab).iter().zip(&on_gpu) {
        assert_eq!(
            kept[..],
            before[..RESUME_EVERY],
            "the history to the point stays"
        );
    }
    while losses(&lab).iter().any(|l| l.len() < lost_at) {
        assert!(
            lab.train(0.0, &now) > 0,
            "the lanes train on the CPU engine"
        );
    }
    for (again, before) in losses(&lab).iter().zip(&on_gpu) {
        for step in RESUME_EVERY..lost_at {
            let (a, b) = (again[step], before[step]);
            assert!(
                rel(b, a) < 1e-3,
                "step {step}: {a} on the CPU, {b} on the GPU"
            );
        }
    }
}

/// A run removed while its steps are in flight (a visitor's click) leaves nothing waiting: the
/// report the page's loop awaits resolves once the engine is gone.
#[test]
fn removing_a_gpu_run_in_flight_ends_the_wait_for_its_report() {
    let Some(ctx) = common::gpu() else { return };
    let ctx = Rc::new(ctx);
    let mut lab = Lab::new(page_defaults(), &settings(), Some(ctx.clone()));
    // Submitted straight to the engine, so that no poll collects them before the removal.
    let batch = lab.runs[0].session.train_batch(0);
    let inputs = lab.runs[0].session.run.train.step_inputs(0);
    lab.runs[0]
        .engine
        .as_deref_mut()
        .unwrap()
        .submit_step(&batch, &inputs);
    let arrival = lab.gpu_next_report().expect("a step in flight");
    lab.remove(1);
    wait(arrival).unwrap();
    assert!(!lab.gpu_active());
}

/// On lavapipe (a software adapter) `auto` trains on the CPU engine and says why; switching to
/// the WebGPU engine continues the run there from its resume point, and back again.
#[test]
fn auto_prefers_the_cpu_engine_over_lavapipe_and_a_switch_moves_the_run() {
    let Some(ctx) = common::gpu() else { return };
    let ctx = Rc::new(ctx);
    let auto: Vec<(String, String)> = settings()
        .into_iter()
        .filter(|(key, _)| key != "engine")
        .map(|(key, value)| match key.as_str() {
            "train.steps" => (key, "200".to_string()),
            _ => (key, value),
        })
        .collect();
    let mut lab = Lab::new(page_defaults(), &auto, Some(ctx.clone()));
    assert!(!lab.on_gpu(), "auto on a software adapter: the CPU engine");
    assert_eq!(
        lab.engine_why,
        "Training on the CPU engine: this browser's WebGPU is a software renderer (llvmpipe), \
         slower than the CPU engine here."
    );
    let now = clock();
    while lab.runs[0].session.steps_done() < RESUME_EVERY + 5 {
        assert!(lab.train(10.0, &now) > 0);
    }

    assert!(lab.choose_engine(EngineChoice::Gpu));
    assert!(lab.on_gpu());
    let run = &lab.runs[0];
    assert!(run
        .engine
        .as_deref()
        .unwrap()
        .describe()
        .starts_with("WebGPU engine on "));
    assert_eq!(
        run.session.steps_done(),
        RESUME_EVERY,
        "resumed from its resume point"
    );
    assert_eq!(
        lab.engine_notice.as_deref(),
        Some("Switched to the WebGPU engine. Resumed run 1 from step 50.")
    );
    assert!(lab
        .url_settings()
        .contains(&("engine".into(), "gpu".into())));
    assert_eq!(lab.runs.len(), 1, "the same run, not a new one");
    // It trains on: a few steps through the page's loop.
    for _ in 0..3 {
        for read in lab.gpu_pump(&now, 1) {
            lab.read_done(1, pollster::block_on(read.wait()));
        }
        if let Some(arrival) = lab.gpu_next_report() {
            wait(arrival).unwrap();
        }
    }
    let _ = lab.gpu_pump(&now, 0);
    assert!(
        lab.runs[0].session.steps_done() > RESUME_EVERY,
        "trains on the GPU"
    );

    assert!(!lab.choose_engine(EngineChoice::Gpu), "already there");
    assert!(lab.choose_engine(EngineChoice::Auto));
    assert!(!lab.on_gpu());
    assert!(
        lab.runs[0].engine.as_deref().unwrap().completes_at_once(),
        "the CPU engine"
    );
    assert!(
        !lab.url_settings().iter().any(|(key, _)| key == "engine"),
        "auto is the default"
    );
}
