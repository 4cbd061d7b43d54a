//! Fuzzing what users hand us (issue 13): the page's URL (decoded and applied to the page's
//! configuration as its controls do), run configuration files (`archlab train --config`), our
//! checkpoints (safetensors + manifest), Hugging Face folders (`config.json` +
//! `model.safetensors`), tokenizers (`tokenizer.json`), shared sessions (link and file) and run
//! JSONs opened in the page. Inputs are arbitrary bytes and, far more fruitful, valid inputs with
//! bytes flipped, cut, inserted or removed. Properties: nothing panics, every failure is an
//! `Err` naming its file or field, and round trips hold (URL settings encode → decode,
//! checkpoints save → load).
//!
//! `cargo test --test integration fuzz::` runs [`CASES`] cases per target; `cargo xtask fuzz
//! --cases N` (which sets `PROPTEST_CASES=N`) runs N per target.
#![cfg(not(target_arch = "wasm32"))]

use std::cell::RefCell;
use std::path::Path;

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};

use archlab::checkpoint::{self, hf, Checkpoint, CheckpointError};
use archlab::contract::OptimizerState;
use archlab::cpu::budget::wasm_budget;
use archlab::lab::{export, fields, page_defaults, run_label, session, url, Lab};
use archlab::model::ParamLayout;
use archlab::train::hf_tokenizer::HfTokenizer;
use archlab::train::run::{RunConfig, RunError};

/// Cases per target in `cargo test` (the whole file runs in seconds).
const CASES: u32 = 512;

/// [`CASES`] cases from a fixed seed (the same cases in every `cargo test`), or
/// `PROPTEST_CASES` cases from a random seed (a long run explores new ones; a failure prints
/// its input); no regression files: each bug found has a test of its own.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok());
    Config {
        cases: cases.unwrap_or(CASES),
        rng_seed: match cases {
            Some(_) => RngSeed::Random,
            None => RngSeed::Fixed(13),
        },
        failure_persistence: None,
        ..Config::default()
    }
}

/// One change to a valid input; positions are taken modulo its length.
#[derive(Clone, Debug)]
enum Mutation {
    Flip {
        at: usize,
        bit: u8,
    },
    Truncate {
        at: usize,
    },
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    Remove {
        at: usize,
        len: usize,
    },
    /// Replaces the `which`-th run of digits (a size, an offset, a shape) by `number`.
    Number {
        which: usize,
        number: &'static str,
    },
}

/// Numbers at the edges: zero, small, past u32, past u64, past any buffer.
const NUMBERS: [&str; 12] = [
    "0",
    "1",
    "2",
    "3",
    "7",
    "255",
    "65536",
    "99999999999",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "100000000000000000000",
];

/// Bytes worth inserting: JSON's punctuation and literals, numbers too big for any type or
/// buffer, a NUL, an escape, and any few bytes.
fn insertion() -> impl Strategy<Value = Vec<u8>> {
    const TOKENS: [&str; 23] = [
        "9",
        "99999999999",
        "-1",
        "0",
        "1e39",
        "NaN",
        "null",
        "true",
        "\"",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\\",
        "%",
        "%zz",
        "=",
        "&",
        ".",
        "\0",
        "\u{ffff}",
    ];
    prop_oneof![
        prop::sample::select(&TOKENS[..]).prop_map(|t| t.as_bytes().to_vec()),
        prop::collection::vec(any::<u8>(), 1..6),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 0..8u8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
        (any::<usize>(), insertion()).prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        (any::<usize>(), 1..16usize).prop_map(|(at, len)| Mutation::Remove { at, len }),
        (any::<usize>(), prop::sample::select(&NUMBERS[..]))
            .prop_map(|(which, number)| Mutation::Number { which, number }),
    ]
}

fn apply(valid: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = valid.to_vec();
    for mutation in mutations {
        let at = |at: usize| {
            if bytes.is_empty() {
                0
            } else {
                at % bytes.len()
            }
        };
        match mutation {
            Mutation::Flip { at: i, bit } if !bytes.is_empty() => {
                let i = at(*i);
                bytes[i] ^= 1 << bit;
            }
            Mutation::Flip { .. } => {}
            Mutation::Truncate { at: i } => bytes.truncate(at(*i)),
            Mutation::Insert { at: i, bytes: new } => {
                let i = at(*i);
                bytes.splice(i..i, new.iter().copied());
            }
            Mutation::Remove { at: i, len } => {
                let i = at(*i);
                let end = (i + len).min(bytes.len());
                bytes.drain(i..end);
            }
            Mutation::Number { which, number } => {
                let runs = digit_runs(&bytes);
                if !runs.is_empty() {
                    let run = runs[which % runs.len()].clone();
                    bytes.splice(run, number.bytes());
                }
            }
        }
    }
    bytes
}

/// Where the runs of ASCII digits are.
fn digit_runs(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut runs = Vec::new();
    let mut start = None;
    for (i, byte) in bytes.iter().chain([&b' ']).enumerate() {
        match (byte.is_ascii_digit(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push(s..i);
                start = None;
            }
            _ => {}
        }
    }
    runs
}

/// `valid` with one to three mutations.
fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(mutation(), 1..4).prop_map(move |m| apply(&valid, &m))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

// ---------------------------------------------------------------------------------------------
// The page's URL

/// A valid query of the page: a choice, a number, a nested variant, a data source.
const VALID_QUERY: &str = "?model.qk_norm=true&train.lr=0.01&model.norm=layer_norm\
    &model.attention=%7B%22sliding_window%22%3A%7B%22window%22%3A2%7D%7D&model.n_layers=3\
    &data.source.tokenizer.kind=byte&model.dropout.resid=0.1&train.schedule=cosine";

/// Applies decoded settings to the page's defaults as the page does (each refused one kept
/// with its reason), then everything the page computes from the result without training:
/// validation, the memory check against WebAssembly's budget, the run's label, each control's
/// value. Checks each refusal names its key, and that the controls' values set back give the
/// same configuration.
fn apply_settings(settings: &[(String, String)]) -> Result<RunConfig, TestCaseError> {
    let base = page_defaults();
    let mut draft = base.clone();
    for (key, value) in settings {
        let before = draft.clone();
        if let Err(error) = draft.set(key, value) {
            prop_assert!(!error.reason.is_empty(), "{key}={value:?}: {error:?}");
            // The error names the key or the part of it that is wrong.
            prop_assert!(
                key.starts_with(&error.field) || error.field.starts_with(key.as_str()),
                "{key}={value:?}: {error}"
            );
            prop_assert_eq!(&draft, &before, "a refused setting changes nothing");
        }
    }
    let checks: Result<(), RunError> = draft
        .validate()
        .and_then(|()| draft.check_memory(&wasm_budget()));
    if let Err(error) = checks {
        prop_assert!(!error.field.is_empty() && !error.reason.is_empty());
        fields::control_for_error(&error.field);
    }
    run_label(Some(&base), &draft, &base);
    for field in fields::FIELDS {
        fields::option_label(field, &draft);
        if let Some(shown) = fields::shown_value(field, &draft) {
            let mut again = draft.clone();
            let set = again.set(field.key, &fields::set_value(field, &shown));
            prop_assert!(set.is_ok(), "{}: {shown:?}", field.key);
            // A choice's option may carry parameters of its own (a window): it shows the same
            // option again; any other control gives the same configuration back.
            match field.kind {
                fields::Kind::Choice(_) => prop_assert_eq!(
                    fields::shown_value(field, &again),
                    Some(shown),
                    "{}",
                    field.key
                ),
                _ => prop_assert!(again == draft, "{}: {shown:?}", field.key),
            }
        }
    }
    Ok(draft)
}

/// What the page writes into its URL reads back to the same configuration.
fn assert_url_round_trip(draft: &RunConfig) -> Result<(), TestCaseError> {
    let base = page_defaults();
    let query = url::encode(&draft.settings_differing_from(&base));
    let mut again = base.clone();
    for (key, value) in url::decode(&query) {
        prop_assert!(again.set(&key, &value).is_ok(), "{key}={value:?}");
    }
    prop_assert_eq!(&again, draft, "{}", query);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn url_encode_decode_round_trips(
        pairs in prop::collection::vec((any::<String>(), any::<String>()), 0..5)
    ) {
        prop_assert_eq!(url::decode(&url::encode(&pairs)), pairs);
    }

    #[test]
    fn url_any_query_applies_or_is_refused_by_name(query in any::<String>()) {
        let draft = apply_settings(&url::decode(&query))?;
        assert_url_round_trip(&draft)?;
    }

    #[test]
    fn url_mutated_queries_apply_or_are_refused_by_name(
        query in mutated(VALID_QUERY.as_bytes().to_vec())
    ) {
        let draft = apply_settings(&url::decode(&text(&query)))?;
        assert_url_round_trip(&draft)?;
    }

    /// Every control's key with values from the edges: huge, negative, non-numbers, JSON.
    #[test]
    fn url_every_key_with_odd_values(
        settings in prop::collection::vec(
            (
                prop::sample::select(fields::FIELDS).prop_map(|f| f.key.to_string()),
                prop_oneof![
                    prop::sample::select(&[
                        "0", "1", "-1", "3", "100000", "1e30", "1e-30", "1e39", "-0", "NaN",
                        "inf", "null", "true", "", " ", "{}", "[]", "\"x\"", "0.5",
                        "18446744073709551616", "4294967296",
                    ][..]).prop_map(str::to_string),
                    any::<String>(),
                ],
            ),
            1..6,
        )
    ) {
        let draft = apply_settings(&settings)?;
        assert_url_round_trip(&draft)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Run configuration files

/// A valid configuration file: the `llama` preset written out whole.
fn valid_config_file() -> Vec<u8> {
    let run = RunConfig::with_preset("llama").unwrap();
    serde_json::to_string_pretty(&run).unwrap().into_bytes()
}

/// Lays `file` over the `gpt2` preset as `archlab train --config` does: a syntax error gives
/// its line and column, another error the key; a refused file changes nothing; an accepted
/// one validates, is memory-checked and its settings rebuild it.
fn assert_config_file(file: &[u8]) -> Result<(), TestCaseError> {
    let mut run = RunConfig::with_preset("gpt2").unwrap();
    let before = run.clone();
    match run.apply_json(&text(file)) {
        Err(error) => {
            prop_assert_eq!(&run, &before, "a refused file changes nothing");
            // The whole file (its syntax, with line and column), or the key at fault.
            prop_assert!(!error.field.is_empty() && !error.reason.is_empty());
            if error.field == "config" {
                prop_assert!(
                    error.reason.starts_with("line ") || error.reason == "must be a JSON object",
                    "{}",
                    error
                );
            }
        }
        Ok(()) => {
            let checked = run
                .validate()
                .and_then(|()| run.check_memory(&wasm_budget()));
            // Settings are written as text for f32 fields (the shortest f32 decimal); the one
            // f64 field, data.validation_fraction, round-trips when valid (in (0, 1)) and
            // written as a decimal, not when it is an f32 value such as 2^64.
            if checked.is_err() {
                return Ok(());
            }
            let mut rebuilt = RunConfig::default();
            for (key, value) in run.non_default_settings() {
                prop_assert!(rebuilt.set(&key, &value).is_ok(), "{key}={value:?}");
            }
            // The vocabulary is the data's (set when the data is built), never a setting.
            rebuilt.model.vocab_size = run.model.vocab_size;
            prop_assert_eq!(rebuilt, run);
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn config_file_any_bytes(file in prop::collection::vec(any::<u8>(), 0..256)) {
        assert_config_file(&file)?;
    }

    #[test]
    fn config_file_mutated(file in mutated(valid_config_file())) {
        assert_config_file(&file)?;
    }
}

/// A syntax error names its line and column (the command line adds the file's name: the CLI
/// tests check that).
#[test]
fn config_syntax_errors_name_line_and_column() {
    let mut run = RunConfig::default();
    let error = run
        .apply_json("{\n  \"model\": {\n    \"d_model\": 32,,\n")
        .unwrap_err();
    assert_eq!(error.field, "config");
    assert_eq!(error.reason, "line 3, column 19: key must be a string");
}

// ---------------------------------------------------------------------------------------------
// Our checkpoints

/// A small valid run (one layer, 16 wide) whose checkpoint is a few dozen kilobytes.
fn small_run(preset: &str) -> RunConfig {
    let mut run = RunConfig::with_preset(preset).unwrap();
    for (key, value) in [
        ("model.d_model", "16"),
        ("model.n_layers", "1"),
        ("model.context_len", "16"),
        ("model.n_heads", "2"),
        ("model.n_kv_heads", "2"),
        ("train.seq_len", "16"),
    ] {
        run.set(key, value).unwrap();
    }
    run.model.vocab_size = 11;
    run.validate().unwrap();
    run
}

/// `values` in the layout's tensors, padding zero.
fn params_of(layout: &ParamLayout, values: &[f32]) -> Vec<f32> {
    let mut params = vec![0.0; layout.total_len];
    for spec in &layout.tensors {
        params[spec.range()].copy_from_slice(&values[spec.range()]);
    }
    params
}

fn valid_checkpoint() -> Checkpoint {
    let run = small_run("default");
    let params = ParamLayout::new(&run.model).init(3);
    let optimizer = OptimizerState {
        m: params.iter().map(|p| p * 0.5).collect(),
        v: params.iter().map(|p| p * p).collect(),
        updates: 4,
    };
    Checkpoint {
        run,
        params,
        optimizer: Some(optimizer),
        step: 4,
    }
}

/// Every error names one of the checkpoint's files.
fn assert_names_a_file(error: &CheckpointError) -> Result<(), TestCaseError> {
    prop_assert!(
        [checkpoint::MANIFEST, checkpoint::WEIGHTS, hf::CONFIG]
            .iter()
            .any(|file| error.field.starts_with(file)),
        "{}",
        error
    );
    prop_assert!(!error.reason.is_empty());
    Ok(())
}

/// Opens a checkpoint both ways the page and the command line do: two files by name, and the
/// tensor file alone (its header carries the manifest).
fn assert_checkpoint_opens_or_names_a_file(
    manifest: &[u8],
    weights: &[u8],
) -> Result<(), TestCaseError> {
    if let Err(error) = Checkpoint::from_bytes(&text(manifest), weights) {
        assert_names_a_file(&error)?;
    }
    let files = [
        ("run/archlab.json".to_string(), manifest.to_vec()),
        ("run/model.safetensors".to_string(), weights.to_vec()),
    ];
    if let Err(error) = checkpoint::open(&files) {
        assert_names_a_file(&error)?;
    }
    if let Err(error) = checkpoint::open(&files[1..]) {
        assert_names_a_file(&error)?;
    }
    Ok(())
}

fn bytes_of(checkpoint: &Checkpoint) -> (Vec<u8>, Vec<u8>) {
    let (manifest, weights) = checkpoint.to_bytes().unwrap();
    (manifest.into_bytes(), weights)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn checkpoint_save_load_round_trips(
        preset in prop::sample::select(&["default", "gpt2", "palm", "olmo2", "gemma2"][..]),
        values in prop::collection::vec(any::<f32>(), 1..512),
        step in any::<usize>(),
        with_optimizer in any::<bool>(),
    ) {
        let run = small_run(preset);
        let layout = ParamLayout::new(&run.model);
        let values: Vec<f32> = values.iter().cycle().take(layout.total_len).copied().collect();
        let params = params_of(&layout, &values);
        let reversed: Vec<f32> = values.iter().rev().copied().collect();
        let optimizer = with_optimizer.then(|| OptimizerState {
            m: params_of(&layout, &reversed),
            v: params.iter().map(|p| p.abs()).collect(),
            updates: step,
        });
        let saved = Checkpoint { run, params, optimizer, step };
        let (manifest, weights) = saved.to_bytes().unwrap();
        let loaded = Checkpoint::from_bytes(&manifest, &weights).unwrap();
        // Bit for bit (NaN included).
        let bits = |c: &Checkpoint| {
            let mut all: Vec<u32> = c.params.iter().map(|p| p.to_bits()).collect();
            if let Some(state) = &c.optimizer {
                all.extend(state.m.iter().chain(&state.v).map(|p| p.to_bits()));
            }
            all
        };
        prop_assert_eq!(bits(&loaded), bits(&saved));
        prop_assert_eq!(&loaded.run, &saved.run);
        prop_assert_eq!(loaded.step, saved.step);
        prop_assert_eq!(
            loaded.optimizer.as_ref().map(|s| s.updates),
            saved.optimizer.as_ref().map(|s| s.updates)
        );
        let alone = checkpoint::open(&[("x.safetensors".into(), weights)]).unwrap();
        prop_assert!(alone.family.is_none());
        prop_assert_eq!(bits(&alone.checkpoint), bits(&saved));
    }

    #[test]
    fn checkpoint_mutated_weights(weights in mutated(bytes_of(&valid_checkpoint()).1)) {
        assert_checkpoint_opens_or_names_a_file(&bytes_of(&valid_checkpoint()).0, &weights)?;
    }

    #[test]
    fn checkpoint_mutated_manifest(manifest in mutated(bytes_of(&valid_checkpoint()).0)) {
        assert_checkpoint_opens_or_names_a_file(&manifest, &bytes_of(&valid_checkpoint()).1)?;
    }

    #[test]
    fn checkpoint_any_bytes(
        manifest in prop::collection::vec(any::<u8>(), 0..64),
        weights in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        assert_checkpoint_opens_or_names_a_file(&manifest, &weights)?;
    }
}

// ---------------------------------------------------------------------------------------------
// Hugging Face folders

const FAMILIES: [&str; 6] = ["llama", "mistral", "qwen3", "olmo2", "gpt2", "gpt_neox"];

/// A fixture folder's `config.json` and `model.safetensors`.
fn hf_folder(family: &str) -> (Vec<u8>, Vec<u8>) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/hf")
        .join(family);
    let read = |file: &str| std::fs::read(folder.join(file)).unwrap();
    (read(hf::CONFIG), read(checkpoint::WEIGHTS))
}

/// Imports a folder both ways: `hf::import` and the page's `checkpoint::open`.
fn assert_hf_imports_or_names_a_file(config: &[u8], weights: &[u8]) -> Result<(), TestCaseError> {
    if let Err(error) = hf::import(&text(config), weights) {
        assert_names_a_file(&error)?;
    }
    let files = [
        ("folder/config.json".to_string(), config.to_vec()),
        ("folder/model.safetensors".to_string(), weights.to_vec()),
    ];
    if let Err(error) = checkpoint::open(&files) {
        assert_names_a_file(&error)?;
    }
    Ok(())
}

/// A family and one of its files, mutated.
fn hf_mutated(config_file: bool) -> impl Strategy<Value = (Vec<u8>, Vec<u8>)> {
    prop::sample::select(&FAMILIES[..]).prop_flat_map(move |family| {
        let (config, weights) = hf_folder(family);
        if config_file {
            (mutated(config), Just(weights)).boxed()
        } else {
            (Just(config), mutated(weights)).boxed()
        }
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn hf_mutated_config((config, weights) in hf_mutated(true)) {
        assert_hf_imports_or_names_a_file(&config, &weights)?;
    }

    #[test]
    fn hf_mutated_weights((config, weights) in hf_mutated(false)) {
        assert_hf_imports_or_names_a_file(&config, &weights)?;
    }

    #[test]
    fn hf_any_config(config in any::<String>()) {
        assert_hf_imports_or_names_a_file(config.as_bytes(), &hf_folder("llama").1)?;
    }
}

/// The tokenizer fixtures (tests/integration/hf_tokenizer.rs), one of them mutated.
fn tokenizer_mutated() -> impl Strategy<Value = Vec<u8>> {
    let names = vec!["gpt2", "llama3", "qwen2", "llama2", "mistral"];
    prop::sample::select(names).prop_flat_map(|name| {
        let path = format!(
            "{}/tests/fixtures/tokenizers/{name}/tokenizer.json",
            env!("CARGO_MANIFEST_DIR")
        );
        mutated(std::fs::read(path).unwrap())
    })
}

// ---------------------------------------------------------------------------------------------
// A shared session (link and file) and a run JSON opened in the page

/// A page at a tiny scale: two runs of three steps and an experiment one round in.
fn session_lab() -> Lab {
    let tiny = [
        ("model.d_model", "16"),
        ("model.n_layers", "1"),
        ("train.steps", "3"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()));
    let mut lab = Lab::new(page_defaults(), &tiny, None);
    let now = || 0.0;
    while lab.train(1.0, &now) > 0 {}
    lab.change("model.qk_norm", "true");
    while lab.train(1.0, &now) > 0 {}
    lab.start_experiment("final-norm").expect("starts");
    lab.train(0.0, &now);
    lab
}

thread_local! {
    /// The page the fuzzed files open on (building one per case would dominate the run).
    static PAGE: RefCell<Lab> = RefCell::new(session_lab());
}

/// The page's session file, and its run 2 as a run JSON.
fn session_files() -> (Vec<u8>, Vec<u8>) {
    PAGE.with_borrow(|lab| {
        let file = lab.share("http://127.0.0.1/").file;
        (
            file.into_bytes(),
            export::run_json(&lab.runs[1]).into_bytes(),
        )
    })
}

proptest! {
    #![proptest_config(config())]

    /// A mutated tokenizer.json is refused with the key at fault, or encodes and decodes
    /// without panicking (ids from anywhere, past the vocabulary too).
    #[test]
    fn tokenizer_mutated_json(json in tokenizer_mutated()) {
        match HfTokenizer::from_json(&text(&json)) {
            Err(error) => prop_assert!(!error.to_string().is_empty()),
            Ok(tokenizer) => {
                let ids = tokenizer.encode("Hello  world 你好 🦀 <s>42\n");
                let mut all = ids.clone();
                all.extend([0, 3, 1_000_000, u32::MAX]);
                tokenizer.decode(&all);
                for id in all {
                    tokenizer.token_label(id);
                }
            }
        }
    }

    /// A session file opens (runs and experiment rebuilt) or is refused naming the file.
    #[test]
    fn session_file_mutated(file in mutated(session_files().0)) {
        if let Err(error) = PAGE.with_borrow(|lab| lab.open_session_file(&file).map(|_| ())) {
            prop_assert!(error.0.starts_with("the session file: "), "{error}");
        }
    }

    /// A link's session value, changed: read, or refused naming the link.
    #[test]
    fn session_link_mutated(value in mutated(session::encode(
        &PAGE.with_borrow(Lab::saved_runs)
    ).into_bytes())) {
        let settings = [(session::URL_KEY.to_string(), text(&value))];
        if let (_, Some(Err(error))) = session::from_settings(&settings) {
            prop_assert!(error.0.starts_with("the link's session"), "{error}");
        }
    }

    /// A run JSON opens as a run or is refused naming the file, the runs unchanged.
    #[test]
    fn run_json_mutated(file in mutated(session_files().1)) {
        PAGE.with_borrow_mut(|lab| {
            let runs = lab.runs.len();
            match lab.import_run(&file) {
                Ok(_) => prop_assert_eq!(lab.runs.len(), runs + 1),
                Err(error) => {
                    prop_assert!(error.0.starts_with("the run JSON: "), "{error}");
                    prop_assert_eq!(lab.runs.len(), runs);
                }
            }
            Ok(())
        })?;
    }
}
