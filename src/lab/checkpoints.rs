//! Checkpoints in the page: uploaded files (our checkpoint, or a Hugging Face folder) opened as
//! a run that continues training, and any run saved as one downloadable file.

use std::rc::Rc;

use super::{Lab, PageEngine, RunEntry};
use crate::checkpoint::{self, Checkpoint};
use crate::engine::Engine;
use crate::gpu::PendingRead;
use crate::train::optim::OptimizerState;
use crate::train::run::{RunConfig, RunError};

/// A run's checkpoint: at once on the CPU engine; on the GPU, reads to await (parameters, then
/// AdamW's two moments), taken once no step is in flight.
pub enum CheckpointOf {
    Ready(Checkpoint),
    Gpu {
        run: RunConfig,
        step: usize,
        reads: [PendingRead; 3],
    },
}

impl CheckpointOf {
    /// The checkpoint, once its reads have arrived.
    pub async fn wait(self) -> Result<Checkpoint, crate::gpu::GpuError> {
        match self {
            Self::Ready(checkpoint) => Ok(checkpoint),
            Self::Gpu { run, step, reads } => {
                let [params, m, v] = reads;
                let params = params.wait().await?;
                let optimizer = OptimizerState {
                    m: m.wait().await?,
                    v: v.wait().await?,
                    updates: step,
                };
                Ok(Checkpoint {
                    run,
                    params,
                    optimizer: Some(optimizer),
                    step,
                })
            }
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
    /// while steps are in flight (pause and wait for them first).
    pub fn checkpoint(&self) -> Option<CheckpointOf> {
        let (run, step) = (self.session.run.clone(), self.session.steps_done());
        match &self.engine {
            PageEngine::Cpu(engine) => Some(CheckpointOf::Ready(Checkpoint {
                run,
                params: engine.params(),
                optimizer: Some(engine.optimizer_state()),
                step,
            })),
            PageEngine::Gpu(gpu) if gpu.busy() => None,
            PageEngine::Gpu(gpu) => Some(CheckpointOf::Gpu {
                run,
                step,
                reads: gpu.engine.start_state_reads(),
            }),
        }
    }
}

impl Lab {
    /// Opens uploaded `files` (name, bytes) as a new run that continues from them: our
    /// checkpoint (its configuration, parameters, optimizer state and step) or a Hugging Face
    /// folder (its model, trained with the controls' training and data settings). Refused with
    /// the file and the reason when they do not make a checkpoint, or when the data's tokens do
    /// not fit the model's vocabulary.
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
        self.draft = requested.clone();
        self.rejected.clear();
        self.problem = None;
        let previous = self.runs.last().map(|r| r.requested.clone());
        let opened = Rc::new(checkpoint);
        let id = self.next_id;
        self.start(id, requested, previous.as_ref(), Some(label), Some(opened))
            .inspect_err(|error| self.problem = Some(error.clone()))?;
        self.next_id += 1;
        Ok(label_of(self))
    }
}

/// The newest run's name.
fn label_of(lab: &Lab) -> String {
    lab.runs.last().map(RunEntry::name).unwrap_or_default()
}

/// Loads `checkpoint`'s parameters (and optimizer state, if any) into a new run's engine.
pub(super) fn restore(engine: &mut PageEngine, checkpoint: &Checkpoint) -> Result<(), RunError> {
    let refused = |e: crate::model::ConfigError| RunError {
        field: format!("checkpoint: {}", e.field),
        reason: e.reason,
    };
    match engine {
        PageEngine::Cpu(engine) => {
            engine.set_params(&checkpoint.params).map_err(refused)?;
            if let Some(state) = checkpoint.optimizer.clone() {
                engine.set_optimizer_state(state).map_err(refused)?;
            }
        }
        PageEngine::Gpu(gpu) => {
            gpu.engine.set_params(&checkpoint.params).map_err(refused)?;
            if let Some(state) = checkpoint.optimizer.clone() {
                gpu.engine.set_optimizer_state(state).map_err(refused)?;
            }
        }
    }
    Ok(())
}
