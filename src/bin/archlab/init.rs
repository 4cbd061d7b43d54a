//! `archlab train --init DIR` and `--tokens FILE.json`: a new run from given weights (our
//! checkpoint folder or a Hugging Face folder), and a given batch as every step's batch. With
//! both, a run follows a PyTorch reference step for step (tests/integration/trajectory.rs).

use std::path::Path;

use archlab::checkpoint::{self, Checkpoint};
use archlab::contract::Batch;
use archlab::model::ModelConfig;
use archlab::train::data::DataStream;
use archlab::train::run::{RunConfig, RunError};
use archlab::train::TrainConfig;

use crate::eval::read_tokens;

fn error(field: &str, reason: impl Into<String>) -> RunError {
    RunError {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The weights of `dir` as the start of a new run: its parameters, no optimizer state, step 0.
/// The run's model is the folder's; training settings start from the defaults (the caller lays
/// `--config` and `--set` over them; sequences at most as long as the context); the data stays ours when the folder is our checkpoint
/// (its tokenizer made the ids), else the default.
pub fn load(dir: &Path) -> Result<Checkpoint, RunError> {
    let (loaded, _family) = checkpoint::dir::load(dir).map_err(|e| error("init", e.to_string()))?;
    // As the page does with opened weights: sequences at most as long as the model's context.
    let context = loaded.run.model.context_len;
    let train = TrainConfig::default();
    Ok(Checkpoint {
        run: RunConfig {
            train: TrainConfig {
                seq_len: train.seq_len.min(context),
                ..train
            },
            ..loaded.run
        },
        optimizer: None,
        step: 0,
        ..loaded
    })
}

/// Refuses a model that is not the one the weights belong to; dropout alone may be set.
pub fn check_architecture(init: &ModelConfig, run: &ModelConfig) -> Result<(), RunError> {
    let without_dropout = ModelConfig {
        dropout: init.dropout,
        ..run.clone()
    };
    if without_dropout == *init {
        Ok(())
    } else {
        let reason = "the architecture comes from --init DIR and cannot change (dropout can)";
        Err(error("model", reason))
    }
}

/// The data of a run from given weights (`--init` or `--resume`), which keep their vocabulary:
/// the data's ids must fit in it (as the page does with an opened checkpoint).
pub fn build_data(run: &mut RunConfig, text: Option<&str>) -> Result<DataStream, String> {
    let vocab_size = run.model.vocab_size;
    let data = run.build_data(text).map_err(|e| e.to_string())?;
    run.model.vocab_size = vocab_size;
    if data.vocab_size() > vocab_size {
        return Err(format!(
            "data: its {} token ids do not fit the model's vocabulary of {vocab_size} \
             (choose other data, or give the ids with --tokens)",
            data.vocab_size()
        ));
    }
    Ok(data)
}

/// The batch of a `--tokens` file (ids below `model`'s vocabulary, sequences within its
/// context), with `run.train`'s batch shape set to it.
pub fn tokens(path: &Path, run: &mut RunConfig) -> Result<Batch, RunError> {
    let batch = read_tokens(path, &run.model).map_err(|e| error("tokens", e))?;
    run.train.batch_size = batch.batch;
    run.train.seq_len = batch.seq;
    Ok(batch)
}

/// A batch's inputs as the `[batch][seq]` JSON array `--tokens` reads.
pub fn tokens_json(batch: &Batch) -> String {
    let rows: Vec<&[u32]> = batch.inputs.chunks(batch.seq).collect();
    serde_json::to_string(&rows).expect("ids serialise") + "\n"
}
