//! Softmax cross-entropy with PaLM's z-loss `coef * logsumexp^2`, averaged over the targets
//! that are not `IGNORE`.

use super::real::Real;
use crate::contract::score::log_sum_exp;
use crate::contract::IGNORE;

/// The two loss terms, each a mean over counted targets.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossTerms {
    /// Mean cross-entropy, nats.
    pub cross_entropy: f64,
    /// Mean `coef * logsumexp^2`.
    pub z_loss: f64,
    /// Mean `logsumexp`, the softmax normaliser log Z, whatever the coefficient.
    pub log_z: f64,
    /// Number of targets that count.
    pub count: usize,
}

impl LossTerms {
    /// The optimised objective: cross-entropy plus z-loss.
    pub fn total(&self) -> f64 {
        self.cross_entropy + self.z_loss
    }
}

/// Loss of `logits` `[N, V]` against `targets` `[N]`; fills `lse` `[N]` with each row's logsumexp
/// for the backward.
pub fn cross_entropy_forward<R: Real>(
    lse: &mut [R],
    logits: &[R],
    targets: &[i32],
    z_coef: f64,
) -> LossTerms {
    let vocab = logits.len() / targets.len();
    let mut terms = LossTerms::default();
    for ((row, &target), row_lse) in logits.chunks_exact(vocab).zip(targets).zip(lse.iter_mut()) {
        let log_z = log_sum_exp(row.iter().map(|x| x.to_f64()));
        *row_lse = R::from_f64(log_z);
        if target != IGNORE {
            terms.cross_entropy += log_z - row[target as usize].to_f64();
            terms.z_loss += z_coef * log_z * log_z;
            terms.log_z += log_z;
            terms.count += 1;
        }
    }
    if terms.count > 0 {
        terms.cross_entropy /= terms.count as f64;
        terms.z_loss /= terms.count as f64;
        terms.log_z /= terms.count as f64;
    }
    terms
}

/// Backward of the total: `dlogits = (softmax - onehot + 2 coef lse softmax) / count` on
/// counted rows, 0 on ignored ones (=).
pub fn cross_entropy_backward<R: Real>(
    dlogits: &mut [R],
    logits: &[R],
    lse: &[R],
    targets: &[i32],
    z_coef: f64,
    count: usize,
) {
    let vocab = logits.len() / targets.len();
    let rows = dlogits
        .chunks_exact_mut(vocab)
        .zip(logits.chunks_exact(vocab));
    for (((drow, row), &target), log_z) in rows.zip(targets).zip(lse) {
        let log_z = log_z.to_f64();
        for (v, (d, x)) in drow.iter_mut().zip(row).enumerate() {
            *d = if target == IGNORE {
                R::default()
            } else {
                let p = (x.to_f64() - log_z).exp();
                let onehot = f64::from(u8::from(v == target as usize));
                R::from_f64((p - onehot + 2.0 * z_coef * log_z * p) / count as f64)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::real::gradcheck::{assert_gradient, uniform};

    #[test]
    fn loss_by_hand() {
        // Row 0: logits [0, 0], target 0 -> CE ln 2, lse ln 2, z = 0.1 (ln 2)^2.
        // Row 1: ignored. Row 2: logits [ln 3, 0], target 1 -> lse ln 4, CE ln 4, z 0.1 (ln 4)^2.
        let logits = [0.0, 0.0, 5.0, -5.0, 3f64.ln(), 0.0];
        let mut lse = [0.0; 3];
        let terms = cross_entropy_forward(&mut lse, &logits, &[0, IGNORE, 1], 0.1);
        let (l2, l4) = (2f64.ln(), 4f64.ln());
        assert_eq!(terms.count, 2);
        assert!((terms.cross_entropy - (l2 + l4) / 2.0).abs() < 1e-15);
        assert!((terms.z_loss - 0.1 * (l2 * l2 + l4 * l4) / 2.0).abs() < 1e-15);
        assert!((terms.log_z - (l2 + l4) / 2.0).abs() < 1e-15);
    }

    #[test]
    fn backward_matches_finite_differences() {
        let (n, vocab) = (4, 5);
        let targets = [2, IGNORE, 0, 4];
        let logits: Vec<f64> = uniform(1, n * vocab).iter().map(|x| 3.0 * x).collect();
        for z_coef in [0.0, 0.3] {
            let mut lse = vec![0.0; n];
            let terms = cross_entropy_forward(&mut lse, &logits, &targets, z_coef);
            let mut dlogits = vec![0.0; n * vocab];
            cross_entropy_backward(&mut dlogits, &logits, &lse, &targets, z_coef, terms.count);
            assert!(
                dlogits[vocab..2 * vocab].iter().all(|&d| d == 0.0),
                "ignored row"
            );
            assert_gradient(&format!("z {z_coef}"), &logits, &dlogits, |x| {
                cross_entropy_forward(&mut vec![0.0; n], x, &targets, z_coef).total()
            });
        }
    }
}
