//! The CPU engine learns: the default small model solves the reverse task and beats the unigram
//! entropy on the corpus, within the stated step counts.
#![cfg(not(target_arch = "wasm32"))]

use archlab::cpu::CpuEngine;
use archlab::train::data::{unigram_entropy, Split};
use archlab::train::run::RunConfig;
use archlab::train::session::{RunStatus, Session};

fn train(settings: &[(&str, &str)]) -> Session {
    let mut run = RunConfig::default();
    for (key, value) in settings {
        run.set(key, value).unwrap();
    }
    let data = run.build_data(None).unwrap();
    let mut engine = CpuEngine::new(&run.model, run.train.seed).unwrap();
    let mut session = Session::new(run, data);
    session
        .run_blocking(&mut engine, 1, &|| 0.0, |_| {})
        .unwrap();
    assert_eq!(session.status, RunStatus::Finished);
    session
}

/// Reverse 6 symbols out of 8: attention must learn to look back to the mirrored position.
/// 350 steps of 32 sequences; it reaches 100% at about 300 steps.
#[test]
fn default_model_learns_to_reverse() {
    let session = train(&[
        (
            "data.source",
            r#"{"type": "task", "task": "reverse", "length": 6, "symbols": 8}"#,
        ),
        ("train.seq_len", "12"),
        ("train.batch_size", "32"),
        ("train.steps", "350"),
        ("train.eval_interval", "1000"),
    ]);
    let accuracy = session.history.last().unwrap().val_accuracy.unwrap();
    assert!(accuracy >= 0.99, "validation token accuracy {accuracy}");
}

/// Character-level Tiny Shakespeare: 150 steps of 16 × 64 characters take the validation loss
/// well below the unigram entropy (about 3.3 nats), the best any model blind to context can do.
#[test]
fn default_model_beats_the_unigram_entropy_on_the_corpus() {
    let session = train(&[("train.steps", "150"), ("train.eval_interval", "1000")]);
    // 16 batches, 16k characters: a finite sample underestimates entropy, which only makes
    // the bar higher.
    let sample: Vec<u32> = (0..16)
        .flat_map(|step| session.data.batch(Split::Train, step).inputs)
        .collect();
    let unigram = unigram_entropy(&sample) as f32;
    let val = session.history.last().unwrap().val_loss.unwrap();
    eprintln!("unigram entropy {unigram:.3} nats, validation loss {val:.3}");
    assert!(
        val < unigram - 0.5,
        "validation loss {val} is not well below the unigram entropy {unigram}"
    );
}
