//! `archlab eval`: the loss (transformers' `labels=input_ids` convention), logits and gradients
//! of a model on given tokens: what checks a model against PyTorch.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use archlab::checkpoint;
use archlab::checkpoint::hf::to_hf_tensors;
use archlab::checkpoint::tensors;
use archlab::contract::engine::wait;
use archlab::contract::{Batch, IGNORE};
use archlab::model::{ModelConfig, ParamLayout};

use crate::engines::{self, Backend};
use crate::train::refuse;

#[derive(clap::Args)]
pub struct EvalArgs {
    /// A Hugging Face folder (config.json + model.safetensors) or an archlab checkpoint folder.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// A JSON array of equal-length arrays of token ids.
    #[arg(long, value_name = "FILE.json")]
    tokens: PathBuf,
    /// The engine.
    #[arg(long, value_enum, default_value = "auto")]
    backend: Backend,
    /// Write the float32 logits [B, T, V] as a NumPy .npy file.
    #[arg(long, value_name = "FILE.npy")]
    logits_out: Option<PathBuf>,
    /// Write the loss gradient of every parameter as safetensors (under the Hugging Face names
    /// for a Hugging Face folder).
    #[arg(long, value_name = "FILE.safetensors")]
    grads_out: Option<PathBuf>,
}

pub fn run(args: EvalArgs) -> ExitCode {
    let (checkpoint, family) = match checkpoint::dir::load(&args.model) {
        Ok(loaded) => loaded,
        Err(error) => return refuse(format!("model: {error}")),
    };
    let batch = match read_tokens(&args.tokens, &checkpoint.run.model) {
        Ok(batch) => batch,
        Err(error) => return refuse(format!("tokens: {error}")),
    };
    let model = &checkpoint.run.model;
    let mut engine = match engines::open(args.backend, model, 0, (batch.batch, batch.seq)) {
        Ok(engine) => engine,
        Err(error) => return refuse(error),
    };
    if let Err(error) = engine.set_params(&checkpoint.params) {
        return refuse(format!("model: {error}"));
    }
    let rows = 0..batch.batch * batch.seq;
    let computed = wait(engine.start_logits(&batch.inputs, batch.batch, batch.seq, rows))
        .and_then(|logits| Ok((logits, wait(engine.start_gradients(&batch))?)));
    let (logits, (loss, grads)) = match computed {
        Ok(computed) => computed,
        Err(error) => {
            eprintln!("error: engine: {error}");
            return ExitCode::FAILURE;
        }
    };

    if let Some(path) = &args.logits_out {
        let shape = [batch.batch, batch.seq, model.vocab_size];
        if let Err(error) = std::fs::write(path, npy_f32(&shape, &logits)) {
            eprintln!("error: logits-out: {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if let Some(path) = &args.grads_out {
        let grads = match family {
            Some(family) => to_hf_tensors(family, model, &grads),
            None => checkpoint::named(&ParamLayout::new(model), &grads, ""),
        };
        let written = tensors::write(&grads, None)
            .map_err(|e| e.to_string())
            .and_then(|bytes| std::fs::write(path, bytes).map_err(|e| e.to_string()));
        if let Err(error) = written {
            eprintln!("error: grads-out: {}: {error}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let summary = serde_json::json!({
        "loss": loss,
        "batch": batch.batch,
        "seq": batch.seq,
        "model": family.map_or("archlab", |f| f.architecture()),
        "engine": engine.describe(),
    });
    println!("{summary}");
    ExitCode::SUCCESS
}

/// The token file (`[batch][seq]` ids) as a batch whose targets are the next tokens (the last
/// position has none): transformers' `labels=input_ids`. `archlab train --tokens` shares it.
pub fn read_tokens(path: &Path, model: &ModelConfig) -> Result<Batch, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let rows: Vec<Vec<u32>> = serde_json::from_str(&text)
        .map_err(|e| format!("not a JSON array of arrays of token ids: {e}"))?;
    let seq = rows.first().map_or(0, Vec::len);
    if seq == 0 {
        return Err("needs at least one sequence of at least one token".into());
    }
    if let Some(i) = rows.iter().position(|row| row.len() != seq) {
        return Err(format!(
            "sequence {i} has {} tokens, sequence 0 has {seq}; all must be equally long",
            rows[i].len()
        ));
    }
    if seq > model.context_len {
        return Err(format!(
            "sequences of {seq} tokens exceed the model's context of {}",
            model.context_len
        ));
    }
    if let Some(&id) = rows
        .iter()
        .flatten()
        .find(|&&id| id as usize >= model.vocab_size)
    {
        return Err(format!(
            "token id {id} is outside the model's vocabulary of {}",
            model.vocab_size
        ));
    }
    let targets = rows
        .iter()
        .flat_map(|row| (0..seq).map(move |t| row.get(t + 1).map_or(IGNORE, |&id| id as i32)))
        .collect();
    Ok(Batch {
        batch: rows.len(),
        seq,
        inputs: rows.concat(),
        targets,
    })
}

/// A NumPy `.npy` (version 1.0) of little-endian f32 in C order.
fn npy_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        dims.join(", ")
    );
    // Magic (6) + version (2) + length (2) + header + newline: a multiple of 64 bytes.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    out
}
