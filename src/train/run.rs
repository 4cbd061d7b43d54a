//! A run's whole configuration (model, training, data) as one serialisable value, with dotted
//! `key=value` overrides: what `archlab train --set` and the page's URL both speak.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::config::TrainConfig;
use super::data::{BatchShape, DataConfig, DataStream};
use crate::model::memory::MemoryBudget;
use crate::model::ModelConfig;

/// Why a run configuration is refused: `field` is the dotted path (`model.n_heads`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct RunError {
    /// Dotted path of the offending field, or `config` for the file as a whole.
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl RunError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

/// Everything that defines a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// The architecture. Its `vocab_size` is set from the data (see [`RunConfig::build_data`]).
    pub model: ModelConfig,
    /// Optimizer, schedule, batch shape, steps, seed.
    pub train: TrainConfig,
    /// Where the batches come from.
    pub data: DataConfig,
}

/// Keys a user may not set: they follow from others.
const DERIVED_KEYS: [(&str, &str); 1] = [(
    "model.vocab_size",
    "set by the data (the task's symbols or the tokenizer); choose the tokenizer's vocab_size instead",
)];

impl RunConfig {
    /// The defaults with the named preset's model and training settings (see
    /// [`super::presets::PRESETS`]).
    pub fn with_preset(name: &str) -> Result<Self, RunError> {
        let mut run = Self::default();
        super::presets::get(name)?.apply(&mut run);
        Ok(run)
    }

    /// Parses a JSON configuration; unknown keys and wrong types are errors naming the key.
    /// Missing keys keep their defaults.
    pub fn from_json(text: &str) -> Result<Self, RunError> {
        let mut run = Self::default();
        run.apply_json(text)?;
        Ok(run)
    }

    /// Overlays a JSON configuration on this one: the keys it has replace ours, nested objects
    /// merge, and the rest stays (so a file can adjust a preset). Nothing changes on error;
    /// malformed JSON is refused with its line and column ("line 3, column 7: expected value").
    pub fn apply_json(&mut self, text: &str) -> Result<(), RunError> {
        let overlay: Value = serde_json::from_str(text).map_err(|e| {
            // serde_json's message ends with " at line L column C": put the place first.
            let message = e.to_string();
            let suffix = format!(" at line {} column {}", e.line(), e.column());
            let what = message.strip_suffix(&suffix).unwrap_or(&message);
            let reason = format!("line {}, column {}: {what}", e.line(), e.column());
            RunError::new("config", reason)
        })?;
        if !overlay.is_object() {
            return Err(RunError::new("config", "must be a JSON object"));
        }
        let mut tree = self.to_tree();
        merge(&mut tree, overlay);
        *self = Self::from_tree(tree)?;
        Ok(())
    }

    /// Sets the value at a dotted `key` (`model.norm`, `train.lr`,
    /// `model.attention.sliding_window.window`). `value` is read as JSON when it parses as JSON
    /// (numbers, booleans, null, objects) and as a string otherwise (`layer_norm`). Nothing
    /// changes on error.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), RunError> {
        if let Some((_, reason)) = DERIVED_KEYS.iter().find(|(k, _)| *k == key) {
            return Err(RunError::new(key, *reason));
        }
        let value: Value =
            serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_string()));
        let mut tree = self.to_tree();
        let mut node = &mut tree;
        for part in key.split('.') {
            if part.is_empty() {
                return Err(RunError::new(key, "empty key segment"));
            }
            // Stepping into a unit variant (`"full"`) or an unset option replaces it with an
            // object, so `attention.sliding_window.window=4` switches the pattern.
            if !node.is_object() {
                *node = Value::Object(Default::default());
            }
            node = node
                .as_object_mut()
                .expect("made an object above")
                .entry(part)
                .or_insert(Value::Null);
        }
        *node = value;
        // An error about the whole configuration is about this key (an odd key such as `?`
        // reads as no key at all).
        *self = Self::from_tree(tree).map_err(|e| match e.field.as_str() {
            "config" => RunError::new(key, e.reason),
            _ => e,
        })?;
        Ok(())
    }

    fn to_tree(&self) -> Value {
        serde_json::to_value(self).expect("a config always serialises")
    }

    /// Reads a configuration back from its JSON tree, naming the key serde refuses.
    fn from_tree(tree: Value) -> Result<Self, RunError> {
        let run: Self = serde_path_to_error::deserialize(&tree).map_err(|e| {
            // serde_path_to_error says "." for the root and "?" before any key was read; an
            // empty key is an empty path.
            let path = e.path().to_string();
            let field = if path == "." || path == "?" || path.is_empty() {
                "config".into()
            } else {
                path
            };
            RunError::new(field, e.into_inner().to_string())
        })?;
        // An f32 field reads a number beyond f32's range (1e39) as infinity, which JSON cannot
        // hold: it would write back as null, and every later `set` would fail on it.
        match lost_number("", &tree, &run.to_tree()) {
            Some((field, number)) => Err(RunError::new(
                field,
                format!(
                    "{} is beyond the range of a 32-bit float (±3.4e38)",
                    value_text(&number)
                ),
            )),
            None => Ok(run),
        }
    }

    /// The batch shape the training configuration asks for.
    pub fn batch_shape(&self) -> BatchShape {
        BatchShape {
            batch_size: self.train.batch_size,
            seq_len: self.train.seq_len,
            seed: self.train.seed,
        }
    }

    /// Checks every rule that needs no data: model, training (against the model), data.
    pub fn validate(&self) -> Result<(), RunError> {
        self.model.validate().map_err(|e| in_section("model", e))?;
        self.train
            .validate_for(&self.model)
            .map_err(|e| in_section("train", e))?;
        self.data
            .validate(self.batch_shape())
            .map_err(|e| data_error(&e))
    }

    /// Refuses a configuration whose memory (see [`crate::model::memory`]) exceeds `budget`,
    /// before any engine allocates it: the error names the setting whose default value would
    /// save the most (`model.d_model` for a model too wide), and the bytes needed and available.
    pub fn check_memory(&self, budget: &MemoryBudget) -> Result<(), RunError> {
        let need = |run: &Self| {
            run.model
                .memory_need(run.train.batch_size, run.train.seq_len, budget.attention)
        };
        let Some(reason) = budget.refusal(&need(self)) else {
            return Ok(());
        };
        let candidates = [
            "model.d_model",
            "model.n_layers",
            "model.context_len",
            "model.d_ff",
            "model.n_heads",
            "train.batch_size",
            "train.seq_len",
        ];
        let defaults = Self::default();
        let total = need(self).total();
        let field = candidates
            .into_iter()
            .filter_map(|field| {
                let mut smaller = self.clone();
                smaller.set(field, &defaults.get(field)?.to_string()).ok()?;
                Some((field, total - need(&smaller).total()))
            })
            .filter(|(_, saved)| *saved > 0.0)
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or("model", |(field, _)| field);
        Err(RunError::new(field, reason))
    }

    /// Validates, builds the batch stream (tokenizing `text` for a text source) and sets the
    /// model's vocabulary to the data's.
    pub fn build_data(&mut self, text: Option<&str>) -> Result<DataStream, RunError> {
        self.validate()?;
        let stream = self
            .data
            .build(self.batch_shape(), text)
            .map_err(|e| data_error(&e))?;
        self.model.vocab_size = stream.vocab_size();
        Ok(stream)
    }

    /// The settings that differ from the defaults, as dotted `key=value` pairs in a stable
    /// order: what a run is labelled by and what the page keeps in its URL.
    pub fn non_default_settings(&self) -> Vec<(String, String)> {
        self.settings_differing_from(&Self::default())
    }

    /// The settings that differ from `base`, as [`RunConfig::non_default_settings`] does for
    /// the defaults; setting them in order on a copy of `base` gives this configuration back.
    /// The page keeps its own smaller defaults and writes only what differs from them.
    pub fn settings_differing_from(&self, base: &Self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        diff_leaves("", &self.to_tree(), &base.to_tree(), &mut out);
        out.retain(|(key, _)| !DERIVED_KEYS.iter().any(|(k, _)| k == key));
        out
    }

    /// The value at a dotted `key` (`model.attention.sliding_window.window`), or None where
    /// the configuration has no such key (another variant is chosen).
    pub fn get(&self, key: &str) -> Option<Value> {
        let mut node = self.to_tree();
        for part in key.split('.') {
            node = node.as_object_mut()?.remove(part)?;
        }
        Some(node)
    }
}

/// A setting's value as text, the form `set` reads back: strings bare, f32 numbers in their
/// shortest form (0.001, not 0.0010000000474974513), in scientific notation from a million
/// up and below 1e-4 (1e30, not thirty-one digits; 1e-8), anything else as JSON.
pub fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => {
            let value = n.as_f64().expect("checked is_f64");
            let scientific = value != 0.0 && !(1e-4..1e6).contains(&value.abs());
            match (f64::from(value as f32) == value, scientific) {
                (true, true) => format!("{:e}", value as f32),
                (true, false) => (value as f32).to_string(),
                (false, true) => format!("{value:e}"),
                (false, false) => value.to_string(),
            }
        }
        other => other.to_string(),
    }
}

/// A model or training error with its section in front of the field.
fn in_section(section: &str, error: crate::model::ConfigError) -> RunError {
    RunError::new(format!("{section}.{}", error.field), error.reason)
}

/// Data errors name their field within the data or training section.
fn data_error(error: &super::data::DataError) -> RunError {
    let text = error.to_string();
    let (field, reason) = text.split_once(": ").unwrap_or(("data", &text));
    let section = match field {
        "batch_size" | "seq_len" | "seed" => "train",
        _ => "data",
    };
    RunError::new(format!("{section}.{field}"), reason)
}

/// The first number of `read` (dotted path, value) that `written` has as null.
fn lost_number(prefix: &str, read: &Value, written: &Value) -> Option<(String, Value)> {
    let path = |key: &str| match prefix {
        "" => key.to_string(),
        _ => format!("{prefix}.{key}"),
    };
    match (read, written) {
        (Value::Number(_), Value::Null) => Some((prefix.to_string(), read.clone())),
        (Value::Object(read), Value::Object(written)) => read.iter().find_map(|(key, value)| {
            lost_number(&path(key), value, written.get(key).unwrap_or(&Value::Null))
        }),
        _ => None,
    }
}

/// Overlays `overlay` on `base`: objects merge key by key, anything else replaces.
fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base), Value::Object(overlay)) => {
            for (key, value) in overlay {
                merge(base.entry(key).or_insert(Value::Null), value);
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// Appends the leaves where `ours` differs from `defaults`, descending through objects with
/// the same keys; anything else that differs is one leaf. An object with other keys (another
/// enum variant, such as a task instead of the corpus) is one leaf, so that setting the leaves
/// in order rebuilds it.
fn diff_leaves(prefix: &str, ours: &Value, defaults: &Value, out: &mut Vec<(String, String)>) {
    match (ours, defaults) {
        (Value::Object(a), Value::Object(b)) if a.keys().eq(b.keys()) => {
            for (key, value) in a {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                diff_leaves(&path, value, b.get(key).unwrap_or(&Value::Null), out);
            }
        }
        _ if ours != defaults => out.push((prefix.to_string(), value_text(ours))),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AttentionPattern, NormType};

    #[test]
    fn set_reads_numbers_enums_and_nested_variants() {
        let mut run = RunConfig::default();
        run.set("train.lr", "0.01").unwrap();
        run.set("model.norm", "layer_norm").unwrap();
        run.set("model.attention.sliding_window.window", "3")
            .unwrap();
        run.set("model.qk_norm", "true").unwrap();
        assert_eq!(run.train.lr, 0.01);
        assert_eq!(run.model.norm, NormType::LayerNorm);
        assert_eq!(
            run.model.attention,
            AttentionPattern::SlidingWindow { window: 3 }
        );
        assert!(run.model.qk_norm);
    }

    #[test]
    fn set_refuses_unknown_keys_bad_values_and_derived_keys_naming_them() {
        let mut run = RunConfig::default();
        let before = run.clone();
        let err = run.set("model.d_modle", "32").unwrap_err();
        assert_eq!(err.field, "model.d_modle");
        assert!(err.reason.contains("unknown field `d_modle`"), "{err}");
        let err = run.set("model.norm", "batch_norm").unwrap_err();
        assert_eq!(err.field, "model.norm");
        assert!(err.reason.contains("unknown variant `batch_norm`"), "{err}");
        let err = run.set("train.steps", "-3").unwrap_err();
        assert_eq!(err.field, "train.steps");
        let err = run.set("model.vocab_size", "100").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("model.vocab_size: set by the data"));
        // Nothing changed by the refused settings.
        assert_eq!(run, before);
    }

    /// Found by tests/integration/fuzz.rs: `train.z_loss=1e39` was read as infinity, written back
    /// as null, and every later setting was then refused as "train.z_loss: invalid type: null".
    #[test]
    fn numbers_beyond_f32_are_refused_by_name() {
        let mut run = RunConfig::default();
        let err = run.set("train.z_loss", "1e39").unwrap_err();
        assert_eq!(
            err.to_string(),
            "train.z_loss: 1e39 is beyond the range of a 32-bit float (±3.4e38)"
        );
        assert_eq!(run, RunConfig::default());
        run.set("model.norm_position", "post").unwrap();
        let err = RunConfig::from_json(r#"{"model": {"dropout": {"attn": -1e300}}}"#).unwrap_err();
        assert_eq!(err.field, "model.dropout.attn");
        run.set("train.lr", "3e38").unwrap();
    }

    /// Found by tests/integration/fuzz.rs: an empty key in a file gave an error naming no field,
    /// and the URL's `?` key one naming the whole configuration.
    #[test]
    fn odd_keys_are_named() {
        let err = RunConfig::from_json(r#"{"": 1}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "config: unknown field ``, expected one of `model`, `train`, `data`"
        );
        let err = RunConfig::default().set("?", "").unwrap_err();
        assert_eq!(err.field, "?");
        assert!(err.reason.starts_with("unknown field `?`"), "{err}");
    }

    #[test]
    fn from_json_names_the_bad_key() {
        let err = RunConfig::from_json(r#"{"train": {"lr": "fast"}}"#).unwrap_err();
        assert_eq!(err.field, "train.lr");
        let err = RunConfig::from_json(r#"{"model": {"heads": 2}}"#).unwrap_err();
        assert_eq!(err.field, "model.heads");
        let err = RunConfig::from_json("{ not json").unwrap_err();
        assert_eq!(err.field, "config");
        let err = RunConfig::from_json("[1, 2]").unwrap_err();
        assert_eq!(err.to_string(), "config: must be a JSON object");
        let run = RunConfig::from_json(r#"{"model": {"n_layers": 3}}"#).unwrap();
        assert_eq!(run.model.n_layers, 3);
        assert_eq!(
            run.train,
            TrainConfig::default(),
            "missing keys keep defaults"
        );
    }

    #[test]
    fn value_text_is_short_for_huge_and_tiny_numbers() {
        let text = |v: f64| value_text(&serde_json::json!(v));
        assert_eq!(text(1e30), "1e30");
        assert_eq!(text(1e-8), "1e-8");
        assert_eq!(text(2.5e6), "2.5e6");
        assert_eq!(text(-3e-7), "-3e-7");
        assert_eq!(text(0.003), "0.003");
        assert_eq!(text(0.0001), "0.0001");
        assert_eq!(text(999_999.0), "999999");
        assert_eq!(text(0.0), "0");
        // What it writes, `set` reads back.
        let mut run = RunConfig::default();
        run.set("train.lr", &text(1e30)).unwrap();
        assert_eq!(run.train.lr, 1e30);
    }

    #[test]
    fn apply_json_adjusts_a_preset_without_resetting_it() {
        let mut run = RunConfig::with_preset("gpt2").unwrap();
        run.apply_json(r#"{"model": {"n_layers": 3}, "train": {"lr": 0.01}}"#)
            .unwrap();
        let gpt2 = crate::train::presets::find("gpt2").unwrap().model.clone();
        assert_eq!(run.model.n_layers, 3);
        assert_eq!(run.model.norm, gpt2.norm, "the preset's other fields stay");
        assert_eq!(run.train.lr, 0.01);
        let before = run.clone();
        assert!(run.apply_json(r#"{"model": {"n_layers": "x"}}"#).is_err());
        assert_eq!(run, before, "a refused file changes nothing");
    }

    #[test]
    fn validate_prefixes_the_section() {
        let mut run = RunConfig::default();
        run.model.n_kv_heads = 3;
        assert!(run.validate().unwrap_err().field.starts_with("model."));
        let mut run = RunConfig::default();
        run.train.seq_len = run.model.context_len + 1;
        assert_eq!(run.validate().unwrap_err().field, "train.seq_len");
        let mut run = RunConfig::default();
        run.train.batch_size = 0;
        assert_eq!(run.validate().unwrap_err().field, "train.batch_size");
        let mut run = RunConfig::default();
        run.data.validation_fraction = 2.0;
        assert!(run.validate().unwrap_err().field.starts_with("data."));
    }

    #[test]
    fn build_data_sets_the_vocabulary_from_the_data() {
        let mut run = RunConfig::default();
        run.set(
            "data.source",
            r#"{"type": "task", "task": "reverse", "length": 4, "symbols": 10}"#,
        )
        .unwrap();
        run.train.seq_len = 8;
        let stream = run.build_data(None).unwrap();
        assert_eq!(run.model.vocab_size, stream.vocab_size());
        assert_ne!(run.model.vocab_size, ModelConfig::default().vocab_size);
    }

    #[test]
    fn non_default_settings_round_trip_through_set() {
        let mut run = RunConfig::with_preset("gpt2").unwrap();
        run.set("train.lr", "0.001").unwrap();
        run.set(
            "model.attention",
            r#"{"sparse": {"local": 2, "stride": 3}}"#,
        )
        .unwrap();
        run.set(
            "data.source",
            r#"{"type": "task", "task": "copy", "length": 4, "symbols": 10}"#,
        )
        .unwrap();
        let settings = run.non_default_settings();
        assert!(settings.contains(&("train.lr".into(), "0.001".into())));
        assert!(settings.contains(&("model.norm".into(), "layer_norm".into())));
        let mut rebuilt = RunConfig::default();
        for (key, value) in &settings {
            rebuilt.set(key, value).unwrap();
        }
        assert_eq!(rebuilt, run);
        assert!(RunConfig::default().non_default_settings().is_empty());
    }

    #[test]
    fn settings_against_another_base_and_get() {
        let mut base = RunConfig::default();
        base.set("model.d_model", "32").unwrap();
        let mut run = base.clone();
        run.set("model.attention.sliding_window.window", "2")
            .unwrap();
        assert_eq!(
            run.settings_differing_from(&base),
            vec![(
                "model.attention".to_string(),
                r#"{"sliding_window":{"window":2}}"#.to_string()
            )]
        );
        assert_eq!(
            run.get("model.attention.sliding_window.window"),
            Some(Value::from(2))
        );
        assert_eq!(run.get("model.attention.sparse.local"), None);
        assert_eq!(value_text(&run.get("train.lr").unwrap()), "0.003");
        assert_eq!(value_text(&run.get("model.norm").unwrap()), "rms_norm");
    }
}
