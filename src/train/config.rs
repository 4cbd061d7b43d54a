//! `TrainConfig`: optimizer, schedule and run settings, independent of the engine.

use serde::{Deserialize, Serialize};

use crate::contract::{AdamWSettings, LrSchedule, Schedule, StepInputs};
use crate::model::config::is_positive;
use crate::model::{ConfigError, ModelConfig};

/// How to train: AdamW, schedule, clipping, z-loss and run sizes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Peak learning rate.
    pub lr: f32,
    /// AdamW first-moment decay.
    pub beta1: f32,
    /// AdamW second-moment decay.
    pub beta2: f32,
    /// AdamW denominator epsilon.
    pub eps: f32,
    /// Decoupled weight decay coefficient (PyTorch AdamW: `p -= lr * wd * p`).
    pub weight_decay: f32,
    /// Also decay the token/position embeddings (by default only matrices decay).
    pub decay_embeddings: bool,
    /// Learning-rate shape after warm-up.
    pub schedule: Schedule,
    /// Steps of linear warm-up from lr/warmup_steps to lr.
    pub warmup_steps: usize,
    /// Learning rate the decaying schedules end at.
    pub min_lr: f32,
    /// Clip the global gradient norm to this value; 0 turns clipping off.
    pub grad_clip: f32,
    /// z-loss coefficient on `logsumexp^2` (PaLM: 1e-4); 0 turns it off.
    pub z_loss: f32,
    /// Sequences per batch, B.
    pub batch_size: usize,
    /// Tokens per sequence, T (<= the model's context_len).
    pub seq_len: usize,
    /// Total optimizer steps; the schedules end here.
    pub steps: usize,
    /// Run seed: the driver passes it to `Engine::new` (initialisation, dropout) and to the
    /// data sampler.
    pub seed: u64,
    /// Evaluate on held-out data every this many steps.
    pub eval_interval: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            lr: 3e-3,
            beta1: 0.9,
            beta2: 0.95,
            eps: 1e-8,
            weight_decay: 0.1,
            decay_embeddings: false,
            schedule: Schedule::Cosine,
            warmup_steps: 20,
            min_lr: 3e-4,
            grad_clip: 1.0,
            z_loss: 0.0,
            batch_size: 16,
            seq_len: 64,
            steps: 1000,
            seed: 0,
            eval_interval: 50,
        }
    }
}

impl TrainConfig {
    /// The learning-rate schedule these settings describe.
    pub fn lr_schedule(&self) -> LrSchedule {
        LrSchedule {
            lr: self.lr,
            min_lr: self.min_lr,
            warmup_steps: self.warmup_steps,
            steps: self.steps,
            shape: self.schedule,
        }
    }

    /// What an engine needs for step `step` (0-based, over the whole run).
    pub fn step_inputs(&self, step: usize) -> StepInputs {
        StepInputs {
            lr: self.lr_schedule().at(step),
            adamw: AdamWSettings {
                beta1: self.beta1,
                beta2: self.beta2,
                eps: self.eps,
                weight_decay: self.weight_decay,
                decay_embeddings: self.decay_embeddings,
            },
            grad_clip: self.grad_clip,
            z_loss: self.z_loss,
        }
    }

    /// Checks every rule of the config on its own.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !is_positive(self.lr) {
            return Err(ConfigError::new("lr", "must be > 0"));
        }
        for (field, beta) in [("beta1", self.beta1), ("beta2", self.beta2)] {
            if !(0.0..1.0).contains(&beta) {
                return Err(ConfigError::new(field, format!("{beta} is not in [0, 1)")));
            }
        }
        if !is_positive(self.eps) {
            return Err(ConfigError::new("eps", "must be > 0"));
        }
        let non_negative = [
            ("weight_decay", self.weight_decay),
            ("grad_clip", self.grad_clip),
            ("z_loss", self.z_loss),
        ];
        for (field, value) in non_negative {
            if !(value >= 0.0 && value.is_finite()) {
                return Err(ConfigError::new(field, "must be finite and >= 0"));
            }
        }
        if !(0.0..=self.lr).contains(&self.min_lr) {
            return Err(ConfigError::new(
                "min_lr",
                format!("{} is not in [0, lr]", self.min_lr),
            ));
        }
        if let Schedule::Wsd { decay_fraction } = self.schedule {
            if !(0.0..=1.0).contains(&decay_fraction) {
                return Err(ConfigError::new(
                    "schedule",
                    "wsd decay_fraction is not in [0, 1]",
                ));
            }
        }
        let positive = [
            ("batch_size", self.batch_size),
            ("seq_len", self.seq_len),
            ("steps", self.steps),
            ("eval_interval", self.eval_interval),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(ConfigError::new(field, "must be > 0"));
            }
        }
        Ok(())
    }

    /// Checks the rules that tie it to a model: everything `validate` does, and a sequence
    /// that fits the context.
    pub fn validate_for(&self, model: &ModelConfig) -> Result<(), ConfigError> {
        self.validate()?;
        if self.seq_len > model.context_len {
            return Err(ConfigError::new(
                "seq_len",
                format!(
                    "{} exceeds the model's context_len {}",
                    self.seq_len, model.context_len
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_rejects(config: TrainConfig, field: &str) {
        let error = config.validate().expect_err("config should be rejected");
        assert_eq!(error.field, field, "{error}");
        assert!(error.to_string().starts_with(&format!("{field}: ")));
    }

    #[test]
    fn default_validates() {
        TrainConfig::default().validate().unwrap();
    }

    #[test]
    fn every_rule_names_its_field() {
        let d = TrainConfig::default;
        assert_rejects(TrainConfig { lr: 0.0, ..d() }, "lr");
        assert_rejects(TrainConfig { beta1: 1.0, ..d() }, "beta1");
        assert_rejects(TrainConfig { beta2: -0.1, ..d() }, "beta2");
        assert_rejects(TrainConfig { eps: 0.0, ..d() }, "eps");
        assert_rejects(
            TrainConfig {
                weight_decay: -1.0,
                ..d()
            },
            "weight_decay",
        );
        assert_rejects(
            TrainConfig {
                grad_clip: f32::NAN,
                ..d()
            },
            "grad_clip",
        );
        assert_rejects(
            TrainConfig {
                z_loss: -1e-4,
                ..d()
            },
            "z_loss",
        );
        assert_rejects(TrainConfig { min_lr: 1.0, ..d() }, "min_lr");
        assert_rejects(
            TrainConfig {
                schedule: Schedule::Wsd {
                    decay_fraction: 1.5,
                },
                ..d()
            },
            "schedule",
        );
        assert_rejects(
            TrainConfig {
                batch_size: 0,
                ..d()
            },
            "batch_size",
        );
        assert_rejects(TrainConfig { seq_len: 0, ..d() }, "seq_len");
        assert_rejects(TrainConfig { steps: 0, ..d() }, "steps");
        assert_rejects(
            TrainConfig {
                eval_interval: 0,
                ..d()
            },
            "eval_interval",
        );
    }

    #[test]
    fn sequence_must_fit_the_context() {
        let model = ModelConfig::default(); // context 64
        let long = TrainConfig {
            seq_len: 65,
            ..TrainConfig::default()
        };
        assert_eq!(long.validate_for(&model).unwrap_err().field, "seq_len");
        assert!(TrainConfig::default().validate_for(&model).is_ok());
    }

    #[test]
    fn serde_round_trip_and_unknown_fields() {
        let config = TrainConfig {
            schedule: Schedule::Wsd {
                decay_fraction: 0.2,
            },
            ..TrainConfig::default()
        };
        let json = serde_json::to_string(&config).unwrap();
        assert!(json.contains(r#""wsd":{"decay_fraction":0.2}"#), "{json}");
        assert_eq!(serde_json::from_str::<TrainConfig>(&json).unwrap(), config);
        assert!(serde_json::from_str::<TrainConfig>(r#"{"learning_rate": 1}"#).is_err());
    }
}
