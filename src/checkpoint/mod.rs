//! Checkpoints: our own folder format (parameters, optional optimizer state, the run config and
//! the step) and Hugging Face folders (`config.json` + `model.safetensors`) of six families.
//!
//! Everything here works on bytes and strings so that the page can use it on uploaded files;
//! reading and writing folders is the thin `*_dir` layer on top (native only).

pub mod hf;
pub mod tensors;

use serde::{Deserialize, Serialize};

use crate::contract::OptimizerState;
use crate::model::{ModelConfig, ParamLayout};
use crate::train::hf_tokenizer::HfTokenizer;
use crate::train::run::RunConfig;
use tensors::{Tensor, Tensors};

/// Why a checkpoint cannot be read or written: `field` names the file, tensor or config key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct CheckpointError {
    pub field: String,
    pub reason: String,
}

impl CheckpointError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// The file of our checkpoint that says what it is.
pub const MANIFEST: &str = "archlab.json";
/// The tensors of a checkpoint, ours or Hugging Face's.
pub const WEIGHTS: &str = "model.safetensors";
/// The format name written into our manifest.
const FORMAT: &str = "archlab-checkpoint-1";

/// `archlab.json`: what the tensors belong to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    /// Always [`FORMAT`].
    format: String,
    /// The run: model, training and data configuration.
    run: RunConfig,
    /// Training steps taken when saved.
    step: usize,
}

/// A model in memory: its run, flat parameters in `ParamLayout` order, and optionally the
/// optimizer state to resume training from.
#[derive(Clone, Debug, PartialEq)]
pub struct Checkpoint {
    pub run: RunConfig,
    /// `[layout.total_len]`, padding zero.
    pub params: Vec<f32>,
    pub optimizer: Option<OptimizerState>,
    /// Training steps taken.
    pub step: usize,
}

/// Prefixes of the optimizer's moments in our `model.safetensors`.
const FIRST_MOMENT: &str = "optimizer.m.";
const SECOND_MOMENT: &str = "optimizer.v.";

impl Checkpoint {
    /// The manifest (`archlab.json`) and tensor file (`model.safetensors`) contents.
    pub fn to_bytes(&self) -> Result<(String, Vec<u8>), CheckpointError> {
        let layout = ParamLayout::new(&self.run.model);
        let mut tensors = named(&layout, &self.params, "");
        if let Some(state) = &self.optimizer {
            tensors.append(&mut named(&layout, &state.m, FIRST_MOMENT));
            tensors.append(&mut named(&layout, &state.v, SECOND_MOMENT));
        }
        let manifest = Manifest {
            format: FORMAT.into(),
            run: self.run.clone(),
            step: self.step,
        };
        let json = serde_json::to_string_pretty(&manifest).expect("a manifest serialises");
        // The manifest also rides in the tensor file's header, so that the file alone (as the
        // page downloads it) is a whole checkpoint.
        let metadata = [(MANIFEST.to_string(), json.clone())].into();
        Ok((json, tensors::write(&tensors, Some(metadata))?))
    }

    /// Reads what [`Checkpoint::to_bytes`] wrote; every tensor of the layout must be there with
    /// its shape, and nothing else may be.
    pub fn from_bytes(manifest: &str, weights: &[u8]) -> Result<Self, CheckpointError> {
        let manifest: Manifest = serde_json::from_str(manifest)
            .map_err(|e| CheckpointError::new(MANIFEST, e.to_string()))?;
        if manifest.format != FORMAT {
            return Err(CheckpointError::new(
                format!("{MANIFEST}: format"),
                format!("{:?} is not {FORMAT:?}", manifest.format),
            ));
        }
        manifest.run.model.validate().map_err(|e| {
            CheckpointError::new(format!("{MANIFEST}: model.{}", e.field), e.reason)
        })?;
        check_fits(&manifest.run.model, weights, MANIFEST)?;
        let layout = ParamLayout::new(&manifest.run.model);
        let mut tensors = tensors::read(weights, WEIGHTS)?;
        let params = flat(&layout, &mut tensors, "")?;
        let optimizer = if tensors.is_empty() {
            None
        } else {
            let m = flat(&layout, &mut tensors, FIRST_MOMENT)?;
            let v = flat(&layout, &mut tensors, SECOND_MOMENT)?;
            Some(OptimizerState {
                m,
                v,
                updates: manifest.step,
            })
        };
        if let Some(name) = tensors.keys().next() {
            return Err(CheckpointError::new(
                format!("{WEIGHTS}: {name}"),
                "is not a tensor of this model",
            ));
        }
        Ok(Self {
            run: manifest.run,
            params,
            optimizer,
            step: manifest.step,
        })
    }
}

/// What uploaded files open as: the checkpoint, and for a Hugging Face folder its family and,
/// if the folder has a `tokenizer.json`, its tokenizer.
#[derive(Clone, Debug, PartialEq)]
pub struct Opened {
    pub checkpoint: Checkpoint,
    pub family: Option<hf::Family>,
    pub tokenizer: Option<HfTokenizer>,
}

/// Opens uploaded files, by name (a folder path is fine: its last part counts): our checkpoint
/// (`archlab.json` and `model.safetensors`, or one `.safetensors` file of ours alone, whose
/// header carries the manifest) or a Hugging Face folder (`config.json` and
/// `model.safetensors`, and `tokenizer.json` if it has one).
pub fn open(files: &[(String, Vec<u8>)]) -> Result<Opened, CheckpointError> {
    let named = |wanted: &str| {
        files
            .iter()
            .find(|(name, _)| name.rsplit(['/', '\\']).next() == Some(wanted))
            .map(|(_, bytes)| bytes.as_slice())
    };
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    // Our tensor file under any name: the only .safetensors file, or the only file that is
    // not JSON (a download renamed by the browser).
    let tensor_files: Vec<&[u8]> = files
        .iter()
        .filter(|(name, _)| {
            name.ends_with(".safetensors") || (files.len() == 1 && !name.ends_with(".json"))
        })
        .map(|(_, bytes)| bytes.as_slice())
        .collect();
    let weights = named(WEIGHTS).or(match tensor_files.as_slice() {
        [only] => Some(*only),
        _ => None,
    });
    let Some(weights) = weights else {
        return Err(CheckpointError::new(
            WEIGHTS,
            "missing: choose the checkpoint's .safetensors file (with its folder's archlab.json \
             or config.json)",
        ));
    };
    let ours = |checkpoint| Opened {
        checkpoint,
        family: None,
        tokenizer: None,
    };
    if let Some(manifest) = named(MANIFEST) {
        return Ok(ours(Checkpoint::from_bytes(&text(manifest), weights)?));
    }
    if let Some(config) = named(hf::CONFIG) {
        let imported = hf::import(&text(config), weights)?;
        let model = &imported.checkpoint.run.model;
        let tokenizer = named(hf::TOKENIZER)
            .map(|json| hf::tokenizer(&text(json), model))
            .transpose()?;
        return Ok(Opened {
            checkpoint: imported.checkpoint,
            family: Some(imported.family),
            tokenizer,
        });
    }
    let embedded = tensors::metadata(weights, WEIGHTS)?.and_then(|m| m.get(MANIFEST).cloned());
    match embedded {
        Some(manifest) => Ok(ours(Checkpoint::from_bytes(&manifest, weights)?)),
        None => Err(CheckpointError::new(
            MANIFEST,
            format!(
                "missing: the tensor file carries no {MANIFEST}; choose its folder's \
                 {MANIFEST} (ours) or {} (Hugging Face) with it",
                hf::CONFIG
            ),
        )),
    }
}

/// Refuses a model whose tensors cannot all be in `weights` (every model has at least
/// [`ModelConfig::matrix_values`] values, 2 bytes each at least: F16 or BF16), before its layout
/// is built or its parameters allocated: a manifest or config.json claiming a huge model must
/// not abort the page or the command line. `described_by` names the file that describes it.
fn check_fits(
    model: &ModelConfig,
    weights: &[u8],
    described_by: &str,
) -> Result<(), CheckpointError> {
    let needed = 2.0 * model.matrix_values();
    if needed <= weights.len() as f64 {
        return Ok(());
    }
    Err(CheckpointError::new(
        WEIGHTS,
        format!(
            "holds {} bytes, too few for the model {described_by} describes: its weight \
             matrices alone need at least {needed:.0} bytes",
            weights.len()
        ),
    ))
}

/// The layout's tensors cut out of a flat buffer, named `prefix + name`.
pub fn named(layout: &ParamLayout, flat: &[f32], prefix: &str) -> Tensors {
    layout
        .tensors
        .iter()
        .map(|spec| {
            let tensor = Tensor {
                shape: spec.shape.clone(),
                values: flat[spec.range()].to_vec(),
            };
            (format!("{prefix}{}", spec.name), tensor)
        })
        .collect()
}

/// Takes the layout's tensors (named `prefix + name`) out of `tensors` into a flat buffer,
/// checking that each exists with the layout's shape.
fn flat(
    layout: &ParamLayout,
    tensors: &mut Tensors,
    prefix: &str,
) -> Result<Vec<f32>, CheckpointError> {
    let mut out = vec![0.0; layout.total_len];
    for spec in &layout.tensors {
        let name = format!("{prefix}{}", spec.name);
        let tensor = tensors
            .remove(&name)
            .ok_or_else(|| CheckpointError::new(format!("{WEIGHTS}: {name}"), "is missing"))?;
        if tensor.shape != spec.shape {
            return Err(CheckpointError::new(
                format!("{WEIGHTS}: {name}"),
                format!(
                    "has shape {:?}, the model needs {:?}",
                    tensor.shape, spec.shape
                ),
            ));
        }
        out[spec.range()].copy_from_slice(&tensor.values);
    }
    Ok(out)
}

/// Folder reading and writing (native only: the page works on uploaded bytes).
#[cfg(not(target_arch = "wasm32"))]
pub mod dir {
    use std::path::Path;

    use super::{hf, Checkpoint, CheckpointError, MANIFEST, WEIGHTS};

    fn read(dir: &Path, file: &str) -> Result<Vec<u8>, CheckpointError> {
        std::fs::read(dir.join(file))
            .map_err(|e| CheckpointError::new(dir.join(file).display().to_string(), e.to_string()))
    }

    fn write(dir: &Path, file: &str, bytes: &[u8]) -> Result<(), CheckpointError> {
        std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(dir.join(file), bytes))
            .map_err(|e| CheckpointError::new(dir.join(file).display().to_string(), e.to_string()))
    }

    /// Writes our checkpoint into `dir`.
    pub fn save(dir: &Path, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
        let (manifest, weights) = checkpoint.to_bytes()?;
        write(dir, WEIGHTS, &weights)?;
        write(dir, MANIFEST, manifest.as_bytes())
    }

    /// Reads our checkpoint, or a Hugging Face folder (when there is no `archlab.json`); the
    /// family is there for a Hugging Face folder.
    pub fn load(dir: &Path) -> Result<(Checkpoint, Option<hf::Family>), CheckpointError> {
        let weights = read(dir, WEIGHTS)?;
        if dir.join(MANIFEST).exists() {
            let manifest = String::from_utf8_lossy(&read(dir, MANIFEST)?).into_owned();
            let checkpoint = Checkpoint::from_bytes(&manifest, &weights);
            return Ok((checkpoint.map_err(|e| in_folder(dir, e))?, None));
        }
        let config = String::from_utf8_lossy(&read(dir, hf::CONFIG)?).into_owned();
        let imported = hf::import(&config, &weights).map_err(|e| in_folder(dir, e))?;
        Ok((imported.checkpoint, Some(imported.family)))
    }

    /// An error about one of the folder's files, naming it by its path
    /// (`runs/mine/model.safetensors: ...`).
    fn in_folder(dir: &Path, error: CheckpointError) -> CheckpointError {
        let field = [WEIGHTS, MANIFEST, hf::CONFIG]
            .into_iter()
            .find_map(|file| {
                let rest = error.field.strip_prefix(file)?;
                Some(format!("{}{rest}", dir.join(file).display()))
            })
            .unwrap_or(error.field);
        CheckpointError { field, ..error }
    }

    /// Writes `checkpoint`'s model as a Hugging Face folder of the family it maps onto.
    pub fn export_hf(dir: &Path, checkpoint: &Checkpoint) -> Result<(), CheckpointError> {
        let (config, weights) = hf::export(&checkpoint.run.model, &checkpoint.params)?;
        write(dir, WEIGHTS, &weights)?;
        write(dir, hf::CONFIG, config.as_bytes())
    }
}
