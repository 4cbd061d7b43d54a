//! Runs kept across reloads, as bytes: the runs (configuration, name, status, every step's
//! record) and the page's experiment (`lab::kept_experiment`) as versioned JSON, the newest
//! run's checkpoint as our checkpoint file within [`CHECKPOINT_CAP`], and the newest run's
//! imported `tokenizer.json` as written. A shared session (`lab::session`) is the same JSON
//! alone. A stored copy may be cut short, come from another version or have been edited, so
//! reading validates everything and says what is wrong; the page's storage (`ui::storage`)
//! only moves the bytes.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::kept_experiment::{check_experiment, SavedExperiment};
use crate::checkpoint::{self, Checkpoint};
use crate::model::{ModelConfig, ParamLayout};
use crate::train::hf_tokenizer::HfTokenizer;
use crate::train::run::RunConfig;
use crate::train::session::{RunStatus, StepRecord};

/// The name written into every copy, so that other data under the same key is refused.
pub const FORMAT: &str = "archlab-saved-runs";
/// The version of the format this page writes and reads; any other is refused.
pub const VERSION: u64 = 1;
/// The newest run's checkpoint (parameters and both AdamW moments, 12 bytes per parameter) is
/// kept only up to this size: models up to about 2.8 million parameters, many times the
/// page's defaults. A larger one is skipped with its reason; the runs are kept all the same.
pub const CHECKPOINT_CAP: usize = 32 << 20;

/// The runs of the page, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedRuns {
    /// Always [`FORMAT`].
    pub format: String,
    /// Always [`VERSION`].
    pub version: u64,
    /// The id the next run gets (ids are never reused).
    pub next_id: usize,
    /// The visitor's text, which runs on the text source were built from.
    pub user_text: String,
    pub runs: Vec<SavedRun>,
    /// The experiment (or sweep) of the page, if one was started; absent in copies kept
    /// before experiments were.
    #[serde(default)]
    pub experiment: Option<SavedExperiment>,
}

/// One run as the charts show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedRun {
    pub id: usize,
    pub label: String,
    pub hidden: bool,
    /// The configuration as the visitor set it.
    pub requested: RunConfig,
    /// The validated configuration it trained (the vocabulary set by the data).
    pub run: RunConfig,
    pub status: RunStatus,
    /// Steps taken before its history starts (a run opened from a checkpoint).
    pub first_step: usize,
    pub history: Vec<StepRecord>,
}

/// What the browser keeps, as bytes: the runs' JSON ([`SavedRuns::to_json`]), the newest run's
/// checkpoint file ([`checkpoint_file`]) and its imported tokenizer's `tokenizer.json`
/// (`HfTokenizer::file`), each of the last two only when there is one.
#[derive(Clone, Debug, PartialEq)]
pub struct Kept {
    pub runs: String,
    pub checkpoint: Option<Vec<u8>>,
    pub tokenizer: Option<String>,
}

/// What a reload gets back: the runs, the newest run's checkpoint if one was kept, and its
/// imported tokenizer if one was kept, or why that could not be read (the rest comes back
/// all the same: the run then reads text with its data's tokenizer).
#[derive(Clone, Debug, PartialEq)]
pub struct Restored {
    pub runs: SavedRuns,
    pub checkpoint: Option<Checkpoint>,
    pub tokenizer: Option<Result<HfTokenizer, StoreError>>,
}

/// Why a stored copy cannot be used, or a checkpoint cannot be kept: a sentence for the page.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

impl SavedRuns {
    /// The runs in this version of the format.
    pub fn new(next_id: usize, user_text: String, runs: Vec<SavedRun>) -> Self {
        Self {
            format: FORMAT.into(),
            version: VERSION,
            next_id,
            user_text,
            runs,
            experiment: None,
        }
    }

    /// The JSON kept in storage (non-finite numbers as null, read back as NaN).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("saved runs serialise")
    }
}

/// Bytes of a checkpoint of `model` with its AdamW moments, before its file's header.
fn checkpoint_bytes(model: &ModelConfig) -> usize {
    ParamLayout::new(model).total_len.saturating_mul(3 * 4)
}

/// Refuses, with the reason, a checkpoint of `model` that would be over [`CHECKPOINT_CAP`]:
/// checked before its state is read from the engine.
pub fn check_checkpoint_size(model: &ModelConfig) -> Result<(), StoreError> {
    over_cap(checkpoint_bytes(model))
}

fn over_cap(bytes: usize) -> Result<(), StoreError> {
    if bytes <= CHECKPOINT_CAP {
        return Ok(());
    }
    Err(StoreError(format!(
        "its checkpoint takes {:.1} MiB, over the {} MiB this page keeps",
        bytes as f64 / (1 << 20) as f64,
        CHECKPOINT_CAP >> 20
    )))
}

/// The checkpoint's file as kept in storage, or why it is not kept.
pub fn checkpoint_file(checkpoint: &Checkpoint) -> Result<Vec<u8>, StoreError> {
    check_checkpoint_size(&checkpoint.run.model)?;
    let (_, bytes) = checkpoint
        .to_bytes()
        .map_err(|e| StoreError(e.to_string()))?;
    over_cap(bytes.len())?;
    Ok(bytes)
}

/// Reads what was kept: the runs' JSON and, if there is one, the newest run's checkpoint file.
/// Anything that does not fit the format, its version or the runs is refused with the reason;
/// the newest run's history is cut to the checkpoint's step, from which it continues.
pub fn restore(json: &str, checkpoint: Option<&[u8]>) -> Result<Restored, StoreError> {
    let value: Value = serde_json::from_str(json)
        .map_err(|e| StoreError(format!("the saved runs are not readable JSON ({e})")))?;
    let format = value.get("format").and_then(Value::as_str);
    let version = value.get("version").and_then(Value::as_u64);
    match (format, version) {
        (Some(FORMAT), Some(VERSION)) => {}
        (Some(FORMAT), Some(version)) => {
            return Err(StoreError(format!(
                "they were saved in version {version} of the format, and this page reads \
                 version {VERSION}"
            )))
        }
        (Some(FORMAT), None) => {
            return Err(StoreError("they name no version of the format".into()))
        }
        _ => return Err(StoreError("they are not archlab's saved runs".into())),
    }
    let mut runs: SavedRuns = serde_json::from_value(value)
        .map_err(|e| StoreError(format!("the saved runs do not fit the format ({e})")))?;
    check_runs(&runs)?;
    if let Some(experiment) = &runs.experiment {
        check_experiment(experiment)?;
    }
    let checkpoint = match checkpoint {
        Some(bytes) => Some(newest_checkpoint(&mut runs, bytes)?),
        None => None,
    };
    Ok(Restored {
        runs,
        checkpoint,
        tokenizer: None,
    })
}

/// Reads what the browser kept (see [`restore`]), with the newest run's tokenizer: read and
/// checked against the newest run's vocabulary as an upload's is (`checkpoint::hf::tokenizer`).
/// A tokenizer that does not read is refused on its own, with the reason.
pub fn restore_kept(kept: &Kept) -> Result<Restored, StoreError> {
    let mut restored = restore(&kept.runs, kept.checkpoint.as_deref())?;
    restored.tokenizer =
        (kept.tokenizer.as_deref()).map(|json| newest_tokenizer(&restored.runs, json));
    Ok(restored)
}

/// The newest run's imported tokenizer from its `tokenizer.json`.
fn newest_tokenizer(runs: &SavedRuns, json: &str) -> Result<HfTokenizer, StoreError> {
    let refused = |reason: String| StoreError(format!("the newest run's tokenizer: {reason}"));
    let newest =
        (runs.runs.last()).ok_or_else(|| refused("there is no run it belongs to".into()))?;
    checkpoint::hf::tokenizer(json, &newest.run.model).map_err(|e| refused(e.to_string()))
}

/// Ids increase and stay below `next_id`; each configuration validates; each history counts
/// its steps from the run's first.
fn check_runs(saved: &SavedRuns) -> Result<(), StoreError> {
    let mut last_id = 0;
    for run in &saved.runs {
        let refused = |reason: String| StoreError(format!("run {}: {reason}", run.id));
        if run.id <= last_id || run.id >= saved.next_id {
            return Err(refused(format!(
                "its id is not between {last_id} and the next id {}",
                saved.next_id
            )));
        }
        last_id = run.id;
        run.requested
            .validate()
            .map_err(|e| refused(e.to_string()))?;
        check_history(&run.run, run.first_step, &run.history).map_err(refused)?;
    }
    Ok(())
}

/// `run` validates and `history` counts its steps from `first_step`; else the reason.
pub fn check_history(
    run: &RunConfig,
    first_step: usize,
    history: &[StepRecord],
) -> Result<(), String> {
    run.validate().map_err(|e| e.to_string())?;
    for (i, record) in history.iter().enumerate() {
        if record.step != first_step + i {
            return Err(format!(
                "its history has step {} where step {} belongs",
                record.step,
                first_step + i
            ));
        }
    }
    Ok(())
}

/// The newest run's checkpoint from its file: ours, of the newest run's configuration, at a step
/// of its history (which is cut there).
fn newest_checkpoint(runs: &mut SavedRuns, bytes: &[u8]) -> Result<Checkpoint, StoreError> {
    let refused = |reason: String| StoreError(format!("the newest run's checkpoint: {reason}"));
    over_cap(bytes.len()).map_err(|e| refused(e.0))?;
    let newest = runs
        .runs
        .last_mut()
        .ok_or_else(|| refused("there is no run it belongs to".into()))?;
    let file = [("newest.safetensors".to_string(), bytes.to_vec())];
    let opened = checkpoint::open(&file).map_err(|e| refused(e.to_string()))?;
    let checkpoint = opened.checkpoint;
    if opened.family.is_some() || checkpoint.run != newest.run {
        return Err(refused(format!(
            "it is not of run {}'s configuration",
            newest.id
        )));
    }
    let first = newest.first_step;
    let last = first + newest.history.len();
    if !(first..=last).contains(&checkpoint.step) {
        return Err(refused(format!(
            "its step {} is outside run {}'s steps {first} to {last}",
            checkpoint.step, newest.id
        )));
    }
    newest.history.truncate(checkpoint.step - first);
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::OptimizerState;
    use crate::lab::page_defaults;
    use crate::train::session::NormRecord;

    fn record(step: usize, loss: f32) -> StepRecord {
        StepRecord {
            step,
            loss,
            z_loss: 0.0,
            grad_norm: 1.5,
            lr: 0.003,
            log_z: loss + 1.0,
            param_norm: 12.5,
            layer_grad_norms: vec![0.75, loss],
            // A NaN validation loss would come back as none (JSON's null): not evaluated.
            val_loss: (step.is_multiple_of(2) && loss.is_finite()).then_some(loss + 0.25),
            val_accuracy: step.is_multiple_of(2).then_some(0.5),
            val_bpc: step.is_multiple_of(2).then_some(1.5),
            max_attention_logit: vec![3.0, loss],
            norms: vec![
                NormRecord {
                    residual: 1.0,
                    attn: 0.5,
                    mlp: loss,
                };
                2
            ],
            tokens_per_second: 1000.0,
        }
    }

    fn small() -> RunConfig {
        let mut run = page_defaults();
        for (key, value) in [
            ("model.d_model", "16"),
            ("model.n_layers", "1"),
            ("model.n_heads", "2"),
            ("model.n_kv_heads", "2"),
            ("model.context_len", "16"),
            ("train.seq_len", "16"),
            ("train.batch_size", "4"),
        ] {
            run.set(key, value).unwrap();
        }
        run.model.vocab_size = 65;
        run
    }

    /// Two runs: the first diverged (NaN and infinite numbers in its last record), the second
    /// (the newest) three steps in after ten taken before (opened from a checkpoint).
    fn saved() -> SavedRuns {
        let diverged = SavedRun {
            id: 1,
            label: "page defaults".into(),
            hidden: true,
            requested: small(),
            run: small(),
            status: RunStatus::Diverged { step: 2 },
            first_step: 0,
            history: vec![record(0, 4.2), record(1, 3.9), record(2, f32::NAN)],
        };
        let mut qk = small();
        qk.model.qk_norm = true;
        let mut newest = SavedRun {
            id: 3,
            label: "+QK-norm, lr 0.003 → 1e30".into(),
            hidden: false,
            requested: qk.clone(),
            run: qk,
            status: RunStatus::Training,
            first_step: 10,
            history: (10..13).map(|s| record(s, 3.0 - s as f32 / 10.0)).collect(),
        };
        newest.history[2].max_attention_logit[0] = f32::INFINITY;
        SavedRuns::new(4, "to be or not".into(), vec![diverged, newest])
    }

    fn checkpoint_of(run: &RunConfig, step: usize) -> Checkpoint {
        let layout = ParamLayout::new(&run.model);
        let params = layout.init(7);
        let m: Vec<f32> = params.iter().map(|p| p * 0.5).collect();
        let v: Vec<f32> = params.iter().map(|p| p * p).collect();
        Checkpoint {
            run: run.clone(),
            params,
            optimizer: Some(OptimizerState {
                m,
                v,
                updates: step,
            }),
            step,
        }
    }

    /// Records equal, NaN where NaN was written (non-finite numbers go through JSON as null).
    fn same_records(a: &[StepRecord], b: &[StepRecord]) {
        let bits = |r: &StepRecord| format!("{:?}", r);
        assert_eq!(
            a.iter().map(bits).collect::<Vec<_>>(),
            b.iter().map(bits).collect::<Vec<_>>()
        );
    }

    #[test]
    fn runs_and_the_newest_checkpoint_round_trip() {
        let runs = saved();
        let checkpoint = checkpoint_of(&runs.runs[1].run, 13);
        let file = checkpoint_file(&checkpoint).unwrap();
        let restored = restore(&runs.to_json(), Some(&file)).unwrap();
        assert_eq!(restored.checkpoint.as_ref(), Some(&checkpoint));
        let back = &restored.runs;
        assert_eq!((back.next_id, back.user_text.as_str()), (4, "to be or not"));
        // Infinities come back as NaN too: JSON writes both as null.
        let mut expected = runs.runs.clone();
        expected[1].history[2].max_attention_logit[0] = f32::NAN;
        assert_eq!(back.runs.len(), 2);
        for (a, b) in back.runs.iter().zip(&expected) {
            assert_eq!(
                (a.id, &a.label, a.hidden, &a.requested, &a.run, a.status),
                (b.id, &b.label, b.hidden, &b.requested, &b.run, b.status)
            );
            same_records(&a.history, &b.history);
        }
        assert!(
            back.runs[0].history[2].loss.is_nan(),
            "NaN comes back as NaN"
        );
        assert!(back.runs[1].history[2].max_attention_logit[0].is_nan());
        // Without a checkpoint the runs come back alone.
        assert_eq!(restore(&runs.to_json(), None).unwrap().checkpoint, None);
    }

    #[test]
    fn an_older_checkpoint_cuts_the_newest_history_to_its_step() {
        let runs = saved();
        let file = checkpoint_file(&checkpoint_of(&runs.runs[1].run, 11)).unwrap();
        let restored = restore(&runs.to_json(), Some(&file)).unwrap();
        let newest = &restored.runs.runs[1];
        assert_eq!(
            newest.history.len(),
            1,
            "step 10 only: the checkpoint is at 11"
        );
        assert_eq!(
            restored.runs.runs[0].history.len(),
            3,
            "older runs stay whole"
        );
    }

    fn refusal(json: &str, checkpoint: Option<&[u8]>) -> String {
        restore(json, checkpoint).expect_err("refused").0
    }

    #[test]
    fn corrupted_copies_are_refused_with_the_reason() {
        let runs = saved();
        let json = runs.to_json();
        assert!(refusal("{not json", None).contains("not readable JSON"));
        assert!(refusal("[1, 2]", None).contains("not archlab's saved runs"));
        let other = json.replace("\"version\":1", "\"version\":2");
        assert!(refusal(&other, None)
            .contains("version 2 of the format, and this page reads version 1"));
        let missing = json.replace("\"user_text\"", "\"text\"");
        assert!(refusal(&missing, None).contains("do not fit the format"));
        let mut gap = runs.clone();
        gap.runs[1].history.remove(1);
        assert!(
            refusal(&gap.to_json(), None).contains("run 3: its history has step 12 where step 11")
        );
        let mut ids = runs.clone();
        ids.next_id = 3;
        assert!(refusal(&ids.to_json(), None).contains("run 3: its id"));
        let mut invalid = runs.clone();
        invalid.runs[0].run.model.n_kv_heads = 3;
        assert!(refusal(&invalid.to_json(), None).starts_with("run 1: model.n_kv_heads"));
        // Every cut of the JSON is refused, never a panic.
        for cut in (0..json.len()).step_by(7) {
            if json.is_char_boundary(cut) {
                assert!(restore(&json[..cut], None).is_err(), "cut at {cut}");
            }
        }
    }

    #[test]
    fn corrupted_or_foreign_checkpoints_are_refused_with_the_reason() {
        let runs = saved();
        let json = runs.to_json();
        let file = checkpoint_file(&checkpoint_of(&runs.runs[1].run, 13)).unwrap();
        for cut in [0, 8, 100, file.len() / 2, file.len() - 1] {
            let reason = refusal(&json, Some(&file[..cut]));
            assert!(
                reason.starts_with("the newest run's checkpoint: "),
                "{cut}: {reason}"
            );
        }
        let garbage = vec![0xAB; 4096];
        assert!(refusal(&json, Some(&garbage)).starts_with("the newest run's checkpoint"));
        // The first run's configuration is not the newest's.
        let foreign = checkpoint_file(&checkpoint_of(&runs.runs[0].run, 13)).unwrap();
        assert!(refusal(&json, Some(&foreign)).contains("not of run 3's configuration"));
        let ahead = checkpoint_file(&checkpoint_of(&runs.runs[1].run, 14)).unwrap();
        assert!(
            refusal(&json, Some(&ahead)).contains("its step 14 is outside run 3's steps 10 to 13")
        );
        let none = SavedRuns::new(1, String::new(), Vec::new());
        assert!(refusal(&none.to_json(), Some(&file)).contains("no run it belongs to"));
    }

    #[test]
    fn a_checkpoint_over_the_cap_is_skipped_with_the_reason() {
        let mut big = small();
        big.model.d_model = 256;
        big.model.n_heads = 4;
        big.model.n_kv_heads = 4;
        big.model.n_layers = 4;
        big.validate().unwrap();
        // 4 layers of 12 d_model² weights alone are 3.1 M parameters: 37.7 MB with the moments.
        let params = ParamLayout::new(&big.model).total_len;
        assert!(params * 12 > CHECKPOINT_CAP, "{params}");
        let reason = check_checkpoint_size(&big.model).unwrap_err().0;
        assert!(
            reason.contains("over the 32 MiB this page keeps"),
            "{reason}"
        );
        assert_eq!(
            checkpoint_file(&checkpoint_of(&big, 1)).unwrap_err().0,
            reason
        );
        assert_eq!(check_checkpoint_size(&small().model), Ok(()));
        // A stored file over the cap is refused before it is parsed.
        let over = vec![0; CHECKPOINT_CAP + 1];
        assert!(refusal(&saved().to_json(), Some(&over)).contains("over the 32 MiB"));
    }
}
