//! Checkpoints: Hugging Face models computed as transformers computes them (fixtures made by
//! tools/make_hf_fixtures.py), export/import round trips, our format with optimizer state, and
//! clear errors for bad files.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::path::{Path, PathBuf};

use archlab::checkpoint::hf::{self, to_hf_tensors};
use archlab::checkpoint::tensors::{self, Tensors};
use archlab::checkpoint::{self, dir, Checkpoint, CheckpointError};
use archlab::contract::engine::wait;
use archlab::contract::{Batch, Engine, OptimizerState, IGNORE};
use archlab::cpu::CpuEngine;
use archlab::gpu::engine::GpuEngine;
use archlab::model::{AttentionPattern, LayerPattern, ModelConfig, ParamLayout};
use archlab::train::data::Split;
use archlab::train::presets::PRESETS;
use archlab::train::run::RunConfig;

/// Every fixture folder: LLaMA (biases, tied), Mistral (sliding window, GQA), Qwen3 (per-head
/// QK-norm), OLMo 2 (post-in-branch norms, QK-norm over projections), GPT-2 (packed Conv1D),
/// GPT-NeoX (parallel block with two norms, head-interleaved qkv), Gemma 2 (norms around each
/// sub-layer stored as gain - 1, tanh GeGLU, scaled tied embeddings, a sliding and a global
/// layer, both soft-caps, a padding token).
const FAMILIES: [&str; 7] = [
    "llama", "mistral", "qwen3", "olmo2", "gpt2", "gpt_neox", "gemma2",
];

fn fixture(family: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(family)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn import(family: &str) -> hf::Imported {
    let folder = fixture(family);
    let config = String::from_utf8(read(&folder.join("config.json"))).unwrap();
    hf::import(&config, &read(&folder.join("model.safetensors"))).unwrap()
}

/// The fixture's tokens as a batch with transformers' `labels=input_ids` targets: position t
/// predicts token t+1, the last position predicts nothing.
fn batch(family: &str) -> Batch {
    let rows: Vec<Vec<u32>> =
        serde_json::from_slice(&read(&fixture(family).join("tokens.json"))).unwrap();
    let (b, t) = (rows.len(), rows[0].len());
    let inputs: Vec<u32> = rows.concat();
    let targets = rows
        .iter()
        .flat_map(|row| (0..t).map(move |i| row.get(i + 1).map_or(IGNORE, |&x| x as i32)))
        .collect();
    Batch {
        batch: b,
        seq: t,
        inputs,
        targets,
    }
}

/// Asserts `ours` is within `relative` of `theirs`, relative to the largest |value| of theirs:
/// gradients of one tensor share a scale, and elements near zero would make a per-element
/// relative test meaningless.
fn assert_close(what: &str, ours: &[f32], theirs: &[f32], relative: f32) {
    assert_eq!(ours.len(), theirs.len(), "{what}: lengths");
    let scale = theirs.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let worst = ours
        .iter()
        .zip(theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst <= relative * scale,
        "{what}: max |ours - transformers| = {worst:e}, {:e} of its scale {scale:e}",
        worst / scale
    );
}

/// Logits, loss and every parameter gradient agree with transformers on the CPU engine.
///
/// Runs every fixture through an engine (`run` returns logits, loss and flat gradients for a
/// model, its parameters and the batch) and compares with transformers.
///
/// Tolerances: transformers computes in f32 with its own summation order; the CPU engine stores
/// f32 and accumulates in f64, the GPU engine is f32 throughout. Errors of a few f32 ulps per
/// operation compound through two layers to about 1e-6 of the logits' scale; 1e-5 leaves margin
/// and still fails on any wrong mapping (a transposed or swapped tensor changes results at the
/// scale of the values themselves). Gradients pass through more operations (and cancel more):
/// 1e-4 of each tensor's scale. The loss: 1e-5 relative.
fn assert_families_match_transformers(
    engine_name: &str,
    mut run: impl FnMut(&ModelConfig, &[f32], &Batch) -> (Vec<f32>, f32, Vec<f32>),
) {
    for family in FAMILIES {
        let imported = import(family);
        let model = &imported.checkpoint.run.model;
        let batch = batch(family);
        let (logits, loss, grads) = run(model, &imported.checkpoint.params, &batch);
        let expected = tensors::read(
            &read(&fixture(family).join("expected.safetensors")),
            "expected",
        )
        .unwrap();
        let what = format!("{family} on the {engine_name}");
        assert_close(
            &format!("{what}: logits"),
            &logits,
            &expected["logits"].values,
            1e-5,
        );
        let reference: serde_json::Value =
            serde_json::from_slice(&read(&fixture(family).join("expected.json"))).unwrap();
        let reference = reference["loss"].as_f64().unwrap() as f32;
        assert!(
            (loss - reference).abs() <= 1e-5 * reference,
            "{what}: loss {loss} vs transformers {reference}"
        );
        let grads = to_hf_tensors(imported.family, model, &grads);
        assert_eq!(
            grads.len(),
            expected.len() - 1,
            "{what}: one gradient per transformers parameter"
        );
        for (name, grad) in &grads {
            let theirs = &expected[&format!("grad.{name}")];
            assert_eq!(grad.shape, theirs.shape, "{what}: {name}");
            assert_close(
                &format!("{what}: grad {name}"),
                &grad.values,
                &theirs.values,
                1e-4,
            );
        }
    }
}

#[test]
fn supported_families_match_transformers_on_the_cpu() {
    assert_families_match_transformers("CPU engine", |model, params, batch| {
        let mut engine = CpuEngine::new(model, 0).unwrap();
        engine.set_params(params).unwrap();
        let logits = engine.logits(&batch.inputs, batch.batch, batch.seq);
        let loss = engine.loss_and_gradients(batch);
        (logits, loss, engine.grads().to_vec())
    });
}

/// The same fixtures on the GPU engine (lavapipe in CI).
#[test]
fn supported_families_match_transformers_on_the_gpu() {
    let Some(ctx) = common::gpu() else { return };
    let ctx = std::rc::Rc::new(ctx);
    assert_families_match_transformers("GPU engine", |model, params, batch| {
        let mut engine = GpuEngine::new(ctx.clone(), model, 0).unwrap();
        engine.set_params(params).unwrap();
        let rows = 0..batch.batch * batch.seq;
        let logits = wait(engine.start_logits(&batch.inputs, batch.batch, batch.seq, rows));
        let (loss, grads) = wait(engine.start_gradients(batch)).unwrap();
        (logits.unwrap(), loss, grads)
    });
}

#[test]
fn features_we_do_not_reproduce_are_refused_by_name() {
    let read_config =
        |family: &str| String::from_utf8(read(&fixture(family).join("config.json"))).unwrap();
    let weights = |family: &str| read(&fixture(family).join("model.safetensors"));
    let neox = read_config("gpt_neox").replace(
        "\"partial_rotary_factor\": 1.0",
        "\"partial_rotary_factor\": 0.25",
    );
    let err = hf::import(&neox, &weights("gpt_neox")).unwrap_err();
    assert_eq!(
        err.field,
        "config.json: rope_parameters.partial_rotary_factor"
    );
    let olmo =
        read_config("olmo2").replace("\"attention_bias\": false", "\"attention_bias\": true");
    let err = hf::import(&olmo, &weights("olmo2")).unwrap_err();
    assert_eq!(err.field, "config.json: mlp_bias");
    // Gemma 2 scales attention by query_pre_attn_scalar^-1/2: only head_dim's is ours.
    let gemma = read_config("gemma2").replace(
        "\"query_pre_attn_scalar\": 4",
        "\"query_pre_attn_scalar\": 8",
    );
    let err = hf::import(&gemma, &weights("gemma2")).unwrap_err();
    assert_eq!(err.field, "config.json: query_pre_attn_scalar");
    assert!(err.reason.contains("1/√head_dim (4)"), "{err}");
}

/// Gemma 2's layer_types: absent, transformers alternates from a sliding layer 0 (the
/// fixture's own list, so the same model); all full is full attention; a sliding layer needs
/// sliding_window.
#[test]
fn gemma2_layer_types_map_onto_attention_patterns() {
    let folder = fixture("gemma2");
    let config = String::from_utf8(read(&folder.join("config.json"))).unwrap();
    let weights = read(&folder.join("model.safetensors"));
    let with_types = |types: Option<&str>, window: bool| {
        let mut json: serde_json::Value = serde_json::from_str(&config).unwrap();
        let map = json.as_object_mut().unwrap();
        map.remove("layer_types");
        if let Some(types) = types {
            map.insert("layer_types".into(), serde_json::from_str(types).unwrap());
        }
        if !window {
            map.remove("sliding_window");
        }
        hf::import(&json.to_string(), &weights)
    };
    let model =
        |imported: Result<hf::Imported, CheckpointError>| imported.unwrap().checkpoint.run.model;
    let fixture_model = import("gemma2").checkpoint.run.model;
    assert_eq!(
        fixture_model.layer_pattern,
        Some(LayerPattern::GlobalEvery(2))
    );
    assert_eq!(model(with_types(None, true)), fixture_model);
    let full = model(with_types(
        Some(r#"["full_attention", "full_attention"]"#),
        true,
    ));
    assert_eq!(
        (full.attention, full.layer_pattern),
        (AttentionPattern::Full, None)
    );
    let err = with_types(None, false).unwrap_err();
    assert_eq!(err.field, "config.json: sliding_window");
}

/// Export then import gives identical parameters and the same configuration.
#[test]
fn export_then_import_is_the_identity() {
    for family in FAMILIES {
        let imported = import(family);
        let checkpoint = &imported.checkpoint;
        let (config, weights) = hf::export(&checkpoint.run.model, &checkpoint.params).unwrap();
        let again = hf::import(&config, &weights).unwrap();
        assert_eq!(again.family, imported.family, "{family}");
        assert_eq!(again.checkpoint.run.model, checkpoint.run.model, "{family}");
        assert_eq!(again.checkpoint.params, checkpoint.params, "{family}");
    }
    let mut model = RunConfig::default().model;
    model.norm_position = archlab::model::NormPosition::Post;
    let err = hf::export(&model, &[]).unwrap_err();
    assert!(err.reason.starts_with("maps onto none"), "{err}");
}

/// A preset export fixture (tools/make_hf_fixtures.py --exports): the folder `archlab export`
/// wrote and transformers loaded, the run's settings, transformers' logits.
struct PresetExport {
    folder: PathBuf,
    /// The preset's configuration with the fixture's settings, vocabulary from the data.
    model: ModelConfig,
    /// The architecture transformers instantiated.
    architecture: String,
}

fn preset_export(name: &str) -> PresetExport {
    let folder = fixture("export").join(name);
    let settings: serde_json::Value =
        serde_json::from_slice(&read(&folder.join("settings.json"))).unwrap();
    assert_eq!(settings["preset"], name);
    let mut run = RunConfig::with_preset(name).unwrap();
    for (key, value) in settings["set"].as_object().unwrap() {
        run.set(key, value.as_str().unwrap()).unwrap();
    }
    // The built-in corpus, character tokens: its vocabulary is the model's.
    run.build_data(None).unwrap();
    let expected: serde_json::Value =
        serde_json::from_slice(&read(&folder.join("expected.json"))).unwrap();
    PresetExport {
        folder,
        model: run.model,
        architecture: expected["architecture"].as_str().unwrap().into(),
    }
}

/// Every preset whose architecture transformers has exports, and only those; each export
/// fixture was loaded by transformers as that class (no missing, unexpected or mismatched
/// tensor: the script checks), and today's exporter writes exactly those files for the preset's
/// configuration: the same config.json text and the same tensors.
#[test]
fn presets_with_a_hugging_face_class_export_what_transformers_loaded() {
    let mut exported = Vec::new();
    for preset in &PRESETS {
        let family = hf::export_family(&preset.model);
        let Some(architecture) = preset.export else {
            assert!(
                family.is_err(),
                "{}: exports, but the table says not",
                preset.name
            );
            continue;
        };
        assert_eq!(
            family.unwrap().architecture(),
            architecture,
            "{}",
            preset.name
        );
        let export = preset_export(preset.name);
        assert_eq!(
            export.architecture, architecture,
            "{}: transformers' class",
            preset.name
        );
        let config = String::from_utf8(read(&export.folder.join("config.json"))).unwrap();
        let weights = read(&export.folder.join("model.safetensors"));
        let imported = hf::import(&config, &weights).unwrap();
        let (config_now, weights_now) =
            hf::export(&export.model, &imported.checkpoint.params).unwrap();
        assert_eq!(
            config_now, config,
            "{}: config.json differs from the one transformers loaded; if the change is \
             intended, rerun tools/make_hf_fixtures.py --exports",
            preset.name
        );
        assert_eq!(
            tensors::read(&weights_now, "now").unwrap(),
            tensors::read(&weights, "fixture").unwrap(),
            "{}: tensors",
            preset.name
        );
        exported.push(preset.name);
    }
    let mut folders: Vec<String> = std::fs::read_dir(fixture("export"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    folders.sort();
    exported.sort();
    assert_eq!(folders, exported, "one fixture per exporting preset");
}

/// Our engines compute transformers' logits on each preset's export, with the preset's own
/// configuration (not the one read back from config.json). Tolerance as for the families
/// above: 1e-5 of the logits' scale (both compute in f32 with different summation orders;
/// observed: at most 1.5e-6 on the CPU engine, 2.8e-6 on the GPU engine), far
/// below what any wrong mapping, norm or RoPE base changes.
fn assert_preset_exports_match_transformers(
    engine_name: &str,
    mut logits: impl FnMut(&ModelConfig, &[f32], &Batch) -> Vec<f32>,
) {
    for preset in PRESETS.iter().filter(|p| p.export.is_some()) {
        let export = preset_export(preset.name);
        let config = String::from_utf8(read(&export.folder.join("config.json"))).unwrap();
        let weights = read(&export.folder.join("model.safetensors"));
        let imported = hf::import(&config, &weights).unwrap();
        let ours = ParamLayout::new(&export.model);
        let theirs = ParamLayout::new(&imported.checkpoint.run.model);
        let shape = |layout: &ParamLayout| -> Vec<(String, Vec<usize>, usize)> {
            let tensors = layout.tensors.iter();
            tensors
                .map(|t| (t.name.clone(), t.shape.clone(), t.offset))
                .collect()
        };
        assert_eq!(shape(&ours), shape(&theirs), "{}: layouts", preset.name);
        let rows: Vec<Vec<u32>> =
            serde_json::from_slice(&read(&export.folder.join("tokens.json"))).unwrap();
        let batch = Batch {
            batch: rows.len(),
            seq: rows[0].len(),
            inputs: rows.concat(),
            targets: vec![IGNORE; rows.len() * rows[0].len()],
        };
        let ours = logits(&export.model, &imported.checkpoint.params, &batch);
        let expected = tensors::read(
            &read(&export.folder.join("expected.safetensors")),
            "expected",
        )
        .unwrap();
        let theirs = &expected["logits"];
        assert_eq!(
            theirs.shape,
            [batch.batch, batch.seq, export.model.vocab_size],
            "{}",
            preset.name
        );
        let what = format!("{} export on the {engine_name}: logits", preset.name);
        assert_close(&what, &ours, &theirs.values, 1e-5);
    }
}

#[test]
fn preset_exports_match_transformers_on_the_cpu() {
    assert_preset_exports_match_transformers("CPU engine", |model, params, batch| {
        let mut engine = CpuEngine::new(model, 0).unwrap();
        engine.set_params(params).unwrap();
        engine.logits(&batch.inputs, batch.batch, batch.seq)
    });
}

#[test]
fn preset_exports_match_transformers_on_the_gpu() {
    let Some(ctx) = common::gpu() else { return };
    let ctx = std::rc::Rc::new(ctx);
    assert_preset_exports_match_transformers("GPU engine", |model, params, batch| {
        let mut engine = GpuEngine::new(ctx.clone(), model, 0).unwrap();
        engine.set_params(params).unwrap();
        let rows = 0..batch.batch * batch.seq;
        wait(engine.start_logits(&batch.inputs, batch.batch, batch.seq, rows)).unwrap()
    });
}

fn small_run() -> RunConfig {
    let mut run = RunConfig::default();
    for (key, value) in [
        ("model.d_model", "16"),
        ("train.batch_size", "2"),
        ("train.seq_len", "16"),
        ("train.warmup_steps", "2"),
        ("model.dropout.resid", "0.1"),
    ] {
        run.set(key, value).unwrap();
    }
    run
}

/// Our checkpoint keeps the optimizer state: 3 steps, save, load into a fresh engine, 3 more
/// steps give bit for bit the losses of 6 uninterrupted steps (dropout masks, schedule and bias
/// correction continue where they stopped).
#[test]
fn our_checkpoint_round_trips_and_resumes_exactly() {
    let mut run = small_run();
    let data = run.build_data(None).unwrap();
    let batch = |step: u64| data.batch(Split::Train, step);
    let inputs = |step: u64| run.train.step_inputs(step as usize);

    let mut straight = CpuEngine::new(&run.model, 7).unwrap();
    let expected: Vec<f32> = (0..6)
        .map(|s| straight.step(&batch(s), &inputs(s)).stats.loss)
        .collect();

    let mut first = CpuEngine::new(&run.model, 7).unwrap();
    for s in 0..3 {
        first.step(&batch(s), &inputs(s));
    }
    let saved = Checkpoint {
        run: run.clone(),
        params: first.params().to_vec(),
        optimizer: Some(first.optimizer_state()),
        step: 3,
    };
    let folder = Path::new(env!("CARGO_TARGET_TMPDIR")).join("checkpoint_resume");
    dir::save(&folder, &saved).unwrap();
    let (loaded, family) = dir::load(&folder).unwrap();
    assert_eq!(family, None, "our own format");
    assert_eq!(loaded, saved);

    let mut resumed = CpuEngine::new(&loaded.run.model, 7).unwrap();
    resumed.set_params(&loaded.params).unwrap();
    resumed
        .set_optimizer_state(loaded.optimizer.unwrap())
        .unwrap();
    let continued: Vec<f32> = (3..6)
        .map(|s| resumed.step(&batch(s), &inputs(s)).stats.loss)
        .collect();
    assert_eq!(continued, expected[3..]);
}

/// Uploaded files open as the page receives them: our folder's two files, our tensor file
/// alone (its header carries the manifest), a Hugging Face folder's files with a path and
/// extra files, and clear errors where the files do not make a checkpoint.
#[test]
fn uploaded_files_open_as_a_checkpoint() {
    let run = small_run();
    let engine = CpuEngine::new(&run.model, 3).unwrap();
    let saved = Checkpoint {
        run,
        params: engine.params().to_vec(),
        optimizer: Some(OptimizerState {
            updates: 5,
            ..engine.optimizer_state()
        }),
        step: 5,
    };
    let (manifest, weights) = saved.to_bytes().unwrap();
    let ours = [
        ("archlab.json".to_string(), manifest.into_bytes()),
        ("model.safetensors".to_string(), weights.clone()),
    ];
    // (assert! rather than assert_eq!: a failure would print every parameter)
    let ours_only = |checkpoint| checkpoint::Opened {
        checkpoint,
        family: None,
        tokenizer: None,
    };
    assert!(checkpoint::open(&ours).unwrap() == ours_only(saved.clone()));
    let alone = [("archlab-run-1-step-5.safetensors".to_string(), weights)];
    assert!(checkpoint::open(&alone).unwrap() == ours_only(saved));

    let folder = fixture("gpt2");
    let hf_files = [
        (
            "gpt2/config.json".to_string(),
            read(&folder.join("config.json")),
        ),
        (
            "gpt2/tokens.json".to_string(),
            read(&folder.join("tokens.json")),
        ),
        (
            "gpt2/model.safetensors".to_string(),
            read(&folder.join("model.safetensors")),
        ),
    ];
    let opened = checkpoint::open(&hf_files).unwrap();
    assert_eq!(opened.family, Some(hf::Family::Gpt2));
    assert!(
        opened.tokenizer.is_none(),
        "the folder has no tokenizer.json"
    );
    assert!(opened.checkpoint == import("gpt2").checkpoint);

    // A Hugging Face tensor file alone has no manifest; a config alone has no weights.
    let err = checkpoint::open(&hf_files[2..]).unwrap_err();
    assert_eq!(err.field, "archlab.json");
    assert!(err.reason.contains("config.json"), "{err}");
    let err = checkpoint::open(&hf_files[..1]).unwrap_err();
    assert_eq!(err.field, "model.safetensors");
    assert!(err.reason.starts_with("missing"), "{err}");
}

fn hf_error(config: &str, weights: &[u8]) -> CheckpointError {
    hf::import(config, weights).unwrap_err()
}

#[test]
fn bad_files_get_clear_errors() {
    let folder = fixture("llama");
    let config = String::from_utf8(read(&folder.join("config.json"))).unwrap();
    let weights = read(&folder.join("model.safetensors"));

    let truncated = hf_error(&config, &weights[..weights.len() / 2]);
    assert!(truncated
        .to_string()
        .starts_with("model.safetensors: not a valid safetensors file"));

    let wider = config.replace("\"hidden_size\": 16", "\"hidden_size\": 32");
    let err = hf_error(&wider, &weights);
    assert!(err.reason.contains("has shape"), "{err}");

    let mut file: Tensors = tensors::read(&weights, "w").unwrap();
    file.remove("model.layers.1.mlp.up_proj.weight");
    let err = hf_error(&config, &tensors::write(&file, None).unwrap());
    assert_eq!(
        err.to_string(),
        "model.safetensors: model.layers.1.mlp.up_proj.weight: is missing"
    );

    let unknown = config.replace("LlamaForCausalLM", "MambaForCausalLM");
    let err = hf_error(&unknown, &weights);
    assert_eq!(err.field, "config.json: architectures");
    assert!(err
        .reason
        .starts_with("\"MambaForCausalLM\" is not supported"));

    let extra_key = config.replace(
        "\"mlp_bias\": true",
        "\"mlp_bias\": true, \"rope_chunks\": 2",
    );
    let err = hf_error(&extra_key, &weights);
    assert_eq!(
        err.to_string(),
        "config.json: rope_chunks: is not supported for LlamaForCausalLM"
    );

    let scaled = config.replace("\"rope_type\": \"default\"", "\"rope_type\": \"yarn\"");
    assert!(hf_error(&scaled, &weights).field.contains("rope_type"));

    let err = hf_error("{ not json", &weights);
    assert!(err.to_string().starts_with("config.json: not valid JSON"));

    // Our own format: a manifest whose model does not match the tensors.
    let saved = Checkpoint {
        run: small_run(),
        params: vec![0.0; archlab::model::ParamLayout::new(&small_run().model).total_len],
        optimizer: None,
        step: 0,
    };
    let (manifest, tensors) = saved.to_bytes().unwrap();
    let deeper = manifest.replace("\"n_layers\": 2", "\"n_layers\": 3");
    let err = Checkpoint::from_bytes(&deeper, &tensors).unwrap_err();
    assert_eq!(
        err.to_string(),
        "model.safetensors: layers.2.attn_in_norm.weight: is missing"
    );
    let err = Checkpoint::from_bytes("{}", &tensors).unwrap_err();
    assert!(
        err.to_string().starts_with("archlab.json: missing field"),
        "{err}"
    );
}

/// Files that claim more than they hold are refused by the numbers before anything is
/// allocated (issue 13; the fuzzer's first find aborted on a 550 GB allocation for a manifest
/// whose d_model had grown digits), and a family we do not read is named.
#[test]
fn huge_claims_and_unknown_families_are_refused_without_allocating() {
    let folder = fixture("llama");
    let config = String::from_utf8(read(&folder.join("config.json"))).unwrap();
    let weights = read(&folder.join("model.safetensors"));

    // A header length of 4 GiB in a file of a few kilobytes.
    let mut huge_header = weights.clone();
    huge_header[..8].copy_from_slice(&(4u64 << 30).to_le_bytes());
    let err = hf_error(&config, &huge_header);
    assert_eq!(
        err.to_string(),
        format!(
            "model.safetensors: not a valid safetensors file: its header claims 4294967296 \
             bytes, the file has {} after the length: truncated, or not a safetensors file",
            weights.len() - 8
        )
    );

    // A config.json whose model would need terabytes.
    let wide = config.replace("\"hidden_size\": 16", "\"hidden_size\": 99999999996");
    let err = hf_error(&wide, &weights);
    assert_eq!(err.field, "model.safetensors");
    assert!(
        err.reason.starts_with(&format!(
            "holds {} bytes, too few for the model config.json describes",
            weights.len()
        )),
        "{err}"
    );

    // Our manifest claiming a model of 550 GB (what the fuzzer found).
    let saved = Checkpoint {
        run: small_run(),
        params: vec![0.0; archlab::model::ParamLayout::new(&small_run().model).total_len],
        optimizer: None,
        step: 0,
    };
    let (manifest, tensors) = saved.to_bytes().unwrap();
    let huge = manifest.replace("\"d_model\": 16", "\"d_model\": 99999999999616");
    let err = Checkpoint::from_bytes(&huge, &tensors).unwrap_err();
    let expected = format!(
        "model.safetensors: holds {} bytes, too few for the model archlab.json describes",
        tensors.len()
    );
    assert!(err.to_string().starts_with(&expected), "{err}");

    // Found by tests/integration/fuzz.rs: head_dim x num_attention_heads overflowed (a panic).
    let head_dim = config.replace("\"head_dim\": 4", "\"head_dim\": 9223372036854775808");
    let err = hf_error(&head_dim, &weights);
    assert_eq!(err.field, "model.safetensors");
    assert!(err.reason.starts_with("holds "), "{err}");

    // Families: model_type alone is enough; an unknown one, or one that contradicts the
    // architecture, is named.
    let without_architectures = config.replace("\"LlamaForCausalLM\"", "");
    let without_architectures =
        without_architectures.replace("\"architectures\": [\n    \n  ],", "");
    assert_eq!(
        hf::import(&without_architectures, &weights).unwrap().family,
        hf::Family::Llama
    );
    let mamba =
        without_architectures.replace("\"model_type\": \"llama\"", "\"model_type\": \"mamba\"");
    let err = hf_error(&mamba, &weights);
    assert_eq!(
        err.to_string(),
        "config.json: model_type: \"mamba\" is not supported; archlab reads llama, mistral, \
         qwen3, olmo2, gpt2, gpt_neox, gemma2"
    );
    let contradiction = config.replace("\"model_type\": \"llama\"", "\"model_type\": \"gpt2\"");
    let err = hf_error(&contradiction, &weights);
    assert_eq!(
        err.to_string(),
        "config.json: model_type: \"gpt2\" is not the family of LlamaForCausalLM (\"llama\")"
    );
    let neither = mamba.replace("\"model_type\": \"mamba\",", "");
    let err = hf_error(&neither, &weights);
    assert_eq!(err.field, "config.json: architectures");
    assert!(
        err.reason.starts_with("missing, and so is model_type"),
        "{err}"
    );

    // A pad_token_id past u32 is not truncated into the vocabulary.
    let pad = config.replace("\"pad_token_id\": null", "\"pad_token_id\": 4294967297");
    let err = hf_error(&pad, &weights);
    assert_eq!(
        err.to_string(),
        "config.json: pad_token_id: 4294967297 is not a token id"
    );
}
