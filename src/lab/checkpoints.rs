//! Checkpoints in the page: uploaded files (our checkpoint, or a Hugging Face folder) opened as
//! a run that continues training, and any run saved as one downloadable file.

use std::rc::Rc;

use super::{Lab, RunEntry};
use crate::checkpoint::{self, Checkpoint};
use crate::contract::engine::now;
use crate::contract::{Engine, EngineError, EngineState, Pending};
use crate::train::run::{RunConfig, RunError};

/// A run's checkpoint: at once on the CPU engine; on the GPU, the state's reads to await,
/// taken once no step is in flight.
pub enum CheckpointOf {
    Ready(Checkpoint),
    Pending {
        run: RunConfig,
        step: usize,
        state: Pending<EngineState>,
    },
}

/// A checkpoint of `run` at `step` from an engine's state.
pub(super) fn checkpoint_of(run: RunConfig, step: usize, state: EngineState) -> Checkpoint {
    Checkpoint {
        run,
        params: state.params,
        optimizer: Some(state.optimizer),
        step,
    }
}

impl CheckpointOf {
    /// The checkpoint, once its reads have arrived.
    pub async fn wait(self) -> Result<Checkpoint, EngineError> {
        match self {
            Self::Ready(checkpoint) => Ok(checkpoint),
            Self::Pending { run, step, state } => Ok(checkpoint_of(run, step, state.await?)),
        }
    }
}

/// The file name a run downloads as: "archlab-run-3-step-200.safetensors".
pub fn file_name(run: &RunEntry) -> String {
    format!(
        "archlab-run-{}-step-{}.safetensors",
        run.id,
        run.session.steps_done()
    )
}

impl RunEntry {
    /// The run's checkpoint (parameters, optimizer state, configuration, step); None on the GPU
    /// while steps are in flight (pause and wait for them first), and for a run whose engine
    /// was freed (only the newest run keeps its state).
    pub fn checkpoint(&self) -> Option<CheckpointOf> {
        let engine = self.engine.as_deref()?;
        if self.session.busy(engine) {
            return None;
        }
        let (run, step) = (self.session.run.clone(), self.session.steps_done());
        let mut state = engine.start_state();
        Some(match now(&mut state) {
            Some(Ok(state)) => CheckpointOf::Ready(checkpoint_of(run, step, state)),
            Some(Err(error)) => CheckpointOf::Pending {
                run,
                step,
                state: Box::pin(std::future::ready(Err(error))),
            },
            None => CheckpointOf::Pending { run, step, state },
        })
    }
}

impl Lab {
    /// Opens uploaded `files` (name, bytes) as a new run that continues from them: our
    /// checkpoint (its configuration, parameters, optimizer state and step) or a Hugging Face
    /// folder (its model, trained with the controls' training and data settings). Refused with
    /// the file and the reason when they do not make a checkpoint, or when the data's tokens do
    /// not fit the model's vocabulary; the controls and the runs before stay as they were.
    pub fn open_checkpoint(&mut self, files: &[(String, Vec<u8>)]) -> Result<String, RunError> {
        let refused = |e: checkpoint::CheckpointError| RunError {
            field: "checkpoint".into(),
            reason: e.to_string(),
        };
        let (checkpoint, family) = checkpoint::open(files).map_err(refused)?;
        let mut requested = checkpoint.run.clone();
        let label = match family {
            Some(family) => {
                // Imported weights come without a training setup: the page's is used, at most
                // as long as the model's context.
                requested.train = self.draft.train.clone();
                requested.data = self.draft.data.clone();
                let context = requested.model.context_len;
                requested.train.seq_len = requested.train.seq_len.min(context);
                format!("opened {}", family.architecture())
            }
            None => format!("opened checkpoint at step {}", checkpoint.step),
        };
        let previous = self.runs.last().map(|r| r.requested.clone());
        let opened = Rc::new(checkpoint);
        let id = self.next_id;
        self.start(
            id,
            requested.clone(),
            previous.as_ref(),
            Some(label),
            Some(opened),
        )?;
        self.draft = requested;
        self.rejected.clear();
        self.problem = None;
        self.next_id += 1;
        Ok(label_of(self))
    }
}

/// The newest run's name.
fn label_of(lab: &Lab) -> String {
    lab.runs.last().map(RunEntry::name).unwrap_or_default()
}

/// Loads `checkpoint`'s parameters (and optimizer state, if any) into a new run's engine.
pub(super) fn restore(engine: &mut dyn Engine, checkpoint: &Checkpoint) -> Result<(), RunError> {
    let refused = |e: crate::model::ConfigError| RunError {
        field: format!("checkpoint: {}", e.field),
        reason: e.reason,
    };
    engine.set_params(&checkpoint.params).map_err(refused)?;
    if let Some(state) = checkpoint.optimizer.clone() {
        engine.set_optimizer_state(state).map_err(refused)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::hf;
    use crate::lab::page_defaults;

    /// Uploaded files: (name, bytes).
    type Files<'a> = &'a [(&'a str, &'a [u8])];

    fn open(lab: &mut Lab, files: Files) -> Result<String, String> {
        let files: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
            .collect();
        lab.open_checkpoint(&files).map_err(|e| e.to_string())
    }

    /// Issue 13: a malformed, truncated or mismatched checkpoint is refused with the file and
    /// the reason, and the page keeps what it had: the runs, the newest run's engine, the
    /// controls.
    #[test]
    fn bad_checkpoints_are_refused_and_what_was_loaded_stays() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        let Some(CheckpointOf::Ready(saved)) = lab.runs[0].checkpoint() else {
            panic!("the CPU engine's checkpoint is ready at once");
        };
        let (manifest, weights) = saved.to_bytes().unwrap();
        assert_eq!(
            open(
                &mut lab,
                &[
                    ("archlab.json", manifest.as_bytes()),
                    ("model.safetensors", &weights)
                ]
            ),
            Ok("run 2: opened checkpoint at step 0".into())
        );

        let mut huge_header = weights.clone();
        huge_header[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let wider = manifest.replace("\"d_ff\": null", "\"d_ff\": 40");
        let (hf_config, hf_weights) = hf::export(&saved.run.model, &saved.params).unwrap();
        let mamba = hf_config.replace("\"model_type\": \"llama\"", "\"model_type\": \"mamba\"");
        let cases: [(Files, &str); 5] = [
            (
                &[("run.safetensors", &weights[..weights.len() - 100])],
                "checkpoint: model.safetensors: not a valid safetensors file",
            ),
            (
                &[("run.safetensors", &huge_header)],
                "checkpoint: model.safetensors: not a valid safetensors file: its header claims \
                 1099511627776 bytes",
            ),
            (
                &[
                    ("archlab.json", wider.as_bytes()),
                    ("model.safetensors", &weights),
                ],
                "checkpoint: model.safetensors: layers.0.mlp.w1: has shape [88, 32], the model \
                 needs [40, 32]",
            ),
            (
                &[
                    ("archlab.json", b"{\"format\": 1"),
                    ("model.safetensors", &weights),
                ],
                "checkpoint: archlab.json: invalid type: integer `1`, expected a string",
            ),
            (
                &[
                    ("config.json", mamba.as_bytes()),
                    ("model.safetensors", &hf_weights),
                ],
                "checkpoint: config.json: model_type: \"mamba\" is not supported; archlab reads \
                 llama, mistral, qwen3, olmo2, gpt2, gpt_neox",
            ),
        ];
        for (files, message) in cases {
            let (runs, draft) = (lab.runs.len(), lab.draft.clone());
            let error = open(&mut lab, files).unwrap_err();
            assert!(error.starts_with(message), "{error}");
            assert_eq!(lab.runs.len(), runs, "{message}");
            assert!(lab.draft == draft, "{message}: the controls stay");
            assert!(
                lab.problem.is_none(),
                "{message}: the controls have no problem"
            );
            assert!(
                lab.training_run().is_some(),
                "{message}: the newest run still trains"
            );
        }
        assert!(lab.train(0.0, &crate::lab::tests::clock()) > 0);
    }
}
