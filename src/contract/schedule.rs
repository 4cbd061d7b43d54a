//! Learning rate as a function of the step: the schedule an engine's caller evaluates before
//! each step (engines take the learning rate as a per-step input).

use serde::{Deserialize, Serialize};

/// Learning-rate shape after warm-up.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// `lr` throughout.
    Constant,
    /// Half a cosine from `lr` down to `min_lr` at `steps`.
    Cosine,
    /// Warmup-stable-decay: `lr` until the last `decay_fraction` of the post-warm-up steps,
    /// then linear down to `min_lr`.
    Wsd {
        /// Share of the post-warm-up steps spent decaying, in `[0, 1]`.
        decay_fraction: f32,
    },
    /// Linear from `lr` down to `min_lr` at `steps`.
    Linear,
}

/// A learning-rate schedule: warm-up to `lr`, then `shape` down to `min_lr` at `steps`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrSchedule {
    /// Peak learning rate.
    pub lr: f32,
    /// Learning rate the decaying shapes end at.
    pub min_lr: f32,
    /// Steps of linear warm-up.
    pub warmup_steps: usize,
    /// Total steps; the decaying shapes end here.
    pub steps: usize,
    pub shape: Schedule,
}

impl LrSchedule {
    /// Learning rate of step `step` (0-based). Warm-up is linear, `lr * (step + 1) /
    /// warmup_steps`, so the first step already moves and step `warmup_steps - 1` reaches `lr`;
    /// afterwards `progress = (step - warmup) / (steps - warmup)`, clamped to `[0, 1]`, shapes
    /// the decay.
    pub fn at(&self, step: usize) -> f32 {
        let (peak, floor) = (f64::from(self.lr), f64::from(self.min_lr));
        let warmup = self.warmup_steps;
        if step < warmup {
            return (peak * (step + 1) as f64 / warmup as f64) as f32;
        }
        let span = self.steps.saturating_sub(warmup).max(1) as f64;
        let progress = ((step - warmup) as f64 / span).min(1.0);
        let lr = match self.shape {
            Schedule::Constant => peak,
            Schedule::Linear => peak - (peak - floor) * progress,
            Schedule::Cosine => {
                floor + 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()) * (peak - floor)
            }
            Schedule::Wsd { decay_fraction } => {
                let stable = 1.0 - f64::from(decay_fraction);
                if progress <= stable {
                    peak
                } else {
                    peak - (peak - floor) * (progress - stable) / f64::from(decay_fraction)
                }
            }
        };
        lr as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(shape: Schedule) -> LrSchedule {
        // 10 warm-up steps, then 100 more: progress = (step - 10) / 100.
        LrSchedule {
            lr: 1.0,
            min_lr: 0.1,
            warmup_steps: 10,
            steps: 110,
            shape,
        }
    }

    fn close(a: f32, b: f64) -> bool {
        (f64::from(a) - b).abs() < 1e-6
    }

    #[test]
    fn warmup_is_linear() {
        let c = config(Schedule::Constant);
        // step 0 -> 1/10, step 4 -> 5/10, step 9 -> 10/10.
        assert!(close(c.at(0), 0.1));
        assert!(close(c.at(4), 0.5));
        assert!(close(c.at(9), 1.0));
        assert!(close(c.at(60), 1.0));
    }

    #[test]
    fn cosine_by_hand() {
        let c = config(Schedule::Cosine);
        // progress 0 -> 1.0; 0.5 -> 0.1 + 0.5 * (1 + cos(pi/2)) * 0.9 = 0.55;
        // 0.25 (step 35) -> 0.1 + 0.5 * (1 + 0.70710678) * 0.9 = 0.86819805;
        // 1 -> 0.1; beyond -> 0.1.
        assert!(close(c.at(10), 1.0));
        assert!(close(c.at(35), 0.868_198_05));
        assert!(close(c.at(60), 0.55));
        assert!(close(c.at(110), 0.1));
        assert!(close(c.at(500), 0.1));
    }

    #[test]
    fn linear_by_hand() {
        let c = config(Schedule::Linear);
        // progress 0.3 (step 40) -> 1 - 0.9 * 0.3 = 0.73.
        assert!(close(c.at(40), 0.73));
        assert!(close(c.at(110), 0.1));
    }

    #[test]
    fn wsd_by_hand() {
        let c = config(Schedule::Wsd {
            decay_fraction: 0.2,
        });
        // Stable through progress 0.8 (step 90); at 0.9 (step 100): 1 - 0.9 * 0.1/0.2 = 0.55.
        assert!(close(c.at(50), 1.0));
        assert!(close(c.at(90), 1.0));
        assert!(close(c.at(100), 0.55));
        assert!(close(c.at(110), 0.1));
    }
}
