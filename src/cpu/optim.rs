//! AdamW with decoupled weight decay over the flat parameter buffer, and global-norm clipping.

use crate::contract::{AdamWSettings, OptimizerState};
use crate::model::ParamLayout;

/// L2 norm of all gradients together, accumulated in f64.
pub fn global_norm(grads: &[f32]) -> f32 {
    grads
        .iter()
        .map(|&g| f64::from(g).powi(2))
        .sum::<f64>()
        .sqrt() as f32
}

/// Scales `grads` so their global norm is at most `max_norm` (0 = off) and returns the norm
/// before clipping. The scale is exactly `max_norm / norm` (PyTorch adds 1e-6 to the norm).
pub fn clip_grad_norm(grads: &mut [f32], max_norm: f32) -> f32 {
    let norm = global_norm(grads);
    if max_norm > 0.0 && norm > max_norm {
        let scale = max_norm / norm;
        grads.iter_mut().for_each(|g| *g *= scale);
    }
    norm
}

/// AdamW state: first and second moments in the parameters' layout.
#[derive(Clone, Debug, PartialEq)]
pub struct AdamW {
    /// First moments, `[total_len]`.
    m: Vec<f32>,
    /// Second moments, `[total_len]`.
    v: Vec<f32>,
    /// Updates done so far, for bias correction.
    t: i32,
}

impl AdamW {
    /// Zero moments for a buffer of `len` floats.
    pub fn new(len: usize) -> Self {
        Self {
            m: vec![0.0; len],
            v: vec![0.0; len],
            t: 0,
        }
    }

    /// The moments and the number of updates done, for checkpoints.
    pub fn state(&self) -> OptimizerState {
        OptimizerState {
            m: self.m.clone(),
            v: self.v.clone(),
            updates: self.t as usize,
        }
    }

    /// Restores moments saved by [`AdamW::state`]; `None` when their length is not this one's.
    pub fn from_state(state: OptimizerState, len: usize) -> Option<Self> {
        (state.m.len() == len && state.v.len() == len).then_some(Self {
            m: state.m,
            v: state.v,
            t: state.updates as i32,
        })
    }

    /// One update at learning rate `lr`, PyTorch's AdamW: `m = b1 m + (1-b1) g`,
    /// `v = b2 v + (1-b2) g^2`, `p -= lr * (wd * p [decaying tensors only] +
    /// m/(1-b1^t) / (sqrt(v/(1-b2^t)) + eps))`. Padding between tensors is left alone.
    pub fn step(
        &mut self,
        params: &mut [f32],
        grads: &[f32],
        layout: &ParamLayout,
        config: &AdamWSettings,
        lr: f32,
    ) {
        self.t += 1;
        let (b1, b2) = (f64::from(config.beta1), f64::from(config.beta2));
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        let (lr, eps) = (f64::from(lr), f64::from(config.eps));
        for tensor in &layout.tensors {
            let wd = if tensor.decays(config.decay_embeddings) {
                f64::from(config.weight_decay)
            } else {
                0.0
            };
            for i in tensor.range() {
                let g = f64::from(grads[i]);
                let m = b1 * f64::from(self.m[i]) + (1.0 - b1) * g;
                let v = b2 * f64::from(self.v[i]) + (1.0 - b2) * g * g;
                let p = f64::from(params[i]);
                let update = (m / c1) / ((v / c2).sqrt() + eps);
                params[i] = (p - lr * (wd * p + update)) as f32;
                (self.m[i], self.v[i]) = (m as f32, v as f32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelConfig;

    #[test]
    fn clipping_by_hand() {
        // [3, 4] has norm 5; clipped to 1 it is [0.6, 0.8].
        let mut grads = [3.0, 4.0];
        assert_eq!(clip_grad_norm(&mut grads, 10.0), 5.0);
        assert_eq!(grads, [3.0, 4.0]);
        assert_eq!(clip_grad_norm(&mut grads, 1.0), 5.0);
        assert!((grads[0] - 0.6).abs() < 1e-7 && (grads[1] - 0.8).abs() < 1e-7);
        assert_eq!(clip_grad_norm(&mut grads, 0.0), 1.0, "0 turns clipping off");
    }

    #[test]
    fn two_adamw_steps_by_hand() {
        let model = ModelConfig {
            d_model: 8,
            n_heads: 2,
            n_kv_heads: 2,
            vocab_size: 5,
            context_len: 4,
            n_layers: 1,
            ..ModelConfig::default()
        };
        let layout = ParamLayout::new(&model);
        let config = AdamWSettings {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.1,
            decay_embeddings: false,
        };
        let wq = layout.find("layers.0.attn.wq").unwrap().offset;
        let gain = layout.find("final_norm.weight").unwrap().offset;
        let mut params = vec![0.0; layout.total_len];
        for spec in &layout.tensors {
            params[spec.range()].fill(1.0);
        }
        let mut adam = AdamW::new(layout.total_len);
        let mut grads = vec![0.5; layout.total_len];
        adam.step(&mut params, &grads, &layout, &config, 0.1);
        // Step 1, g = 0.5: m = 0.05, v = 0.001 * 0.25 = 0.00025; m/(1-0.9) = 0.5,
        // v/(1-0.999) = 0.25, update = 0.5 / (0.5 + 1e-8) = 0.99999998.
        // Decaying matrix: 1 - 0.1 * (0.1 * 1 + 0.99999998) = 0.890000002; gain: 0.900000002.
        assert!((params[wq] - 0.89).abs() < 1e-7, "{}", params[wq]);
        assert!((params[gain] - 0.9).abs() < 1e-7, "{}", params[gain]);
        grads.fill(-0.5);
        adam.step(&mut params, &grads, &layout, &config, 0.1);
        // Step 2, g = -0.5: m = 0.045 - 0.05 = -0.005, m/(1-0.81) = -0.0263157895;
        // v = 0.00024975 + 0.00025 = 0.00049975, v/(1-0.998001) = 0.25, update = -0.0526315789.
        // Gain: 0.9 + 0.1 * 0.0526315789 = 0.905263158.
        // Matrix: 0.89 - 0.1 * (0.1 * 0.89 - 0.0526315789) = 0.89 - 0.00363684211 = 0.886363158.
        assert!(
            (params[gain] - 0.905_263_2).abs() < 1e-6,
            "{}",
            params[gain]
        );
        assert!((params[wq] - 0.886_363_16).abs() < 1e-6, "{}", params[wq]);
        let padding = layout.tensors[0].range().end;
        assert_eq!(params[padding], 0.0, "padding is never updated");
    }
}
