//! Scoring logits against a batch's targets, as an evaluation does on either engine: mean
//! cross-entropy over the scored positions and next-token accuracy.

use super::batch::{Batch, IGNORE};

/// `log(sum(exp(x)))` of a row, in f64, shifted by its maximum so that nothing overflows.
pub fn log_sum_exp(row: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = row.clone().fold(f64::NEG_INFINITY, f64::max);
    max + row.map(|x| (x - max).exp()).sum::<f64>().ln()
}

/// Mean cross-entropy (nats) of `logits` `[batch * seq, vocab]` over the positions whose
/// target is not `IGNORE`; NaN when none is scored.
pub fn cross_entropy(logits: &[f32], batch: &Batch, vocab: usize) -> f32 {
    let (mut total, mut count) = (0.0f64, 0usize);
    for (row, &target) in logits.chunks_exact(vocab).zip(&batch.targets) {
        if target != IGNORE {
            total +=
                log_sum_exp(row.iter().map(|&x| f64::from(x))) - f64::from(row[target as usize]);
            count += 1;
        }
    }
    (total / count as f64) as f32
}

/// Mean loss and token accuracy of `logits`, one `[batch * seq, vocab]` per batch of
/// `batches`, in order: what a validation reports.
pub fn score_batches(batches: &[Batch], logits: &[Vec<f32>], vocab: usize) -> (f32, f32) {
    assert_eq!(batches.len(), logits.len(), "one set of logits per batch");
    let (mut loss, mut accuracy) = (0.0, 0.0);
    for (batch, logits) in batches.iter().zip(logits) {
        loss += cross_entropy(logits, batch, vocab);
        accuracy += token_accuracy(logits, batch, vocab);
    }
    let n = batches.len().max(1) as f32;
    (loss / n, accuracy / n)
}

/// Index of the largest logit (the first on ties; NaN never wins).
fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |best, i| if row[i] > row[best] { i } else { best })
}

/// For every scored position (target not `IGNORE`), its row and whether the argmax is right.
pub fn graded<'a>(
    logits: &'a [f32],
    batch: &'a Batch,
    vocab: usize,
) -> impl Iterator<Item = (usize, bool)> + 'a {
    assert_eq!(
        logits.len(),
        batch.batch * batch.seq * vocab,
        "logits must be [batch * seq, vocab]"
    );
    batch
        .targets
        .iter()
        .enumerate()
        .filter(|&(_, &t)| t != IGNORE)
        .map(move |(i, &t)| {
            let row = &logits[i * vocab..(i + 1) * vocab];
            (i / batch.seq, argmax(row) == t as usize)
        })
}

/// Fraction of scored positions whose argmax logit is the target. Logits are [batch * seq, vocab].
/// NaN when nothing is scored (an undefined ratio, rather than a misleading 0 or 1).
pub fn token_accuracy(logits: &[f32], batch: &Batch, vocab: usize) -> f32 {
    let (right, total) = graded(logits, batch, vocab).fold((0usize, 0usize), |(r, n), (_, ok)| {
        (r + usize::from(ok), n + 1)
    });
    right as f32 / total as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_and_accuracy_by_hand() {
        // Row 0: logits [0, ln 3] -> p = [1/4, 3/4], target 1: -ln(3/4), right.
        // Row 1: target 0: -ln(1/4), wrong (argmax 1). Row 2 ignored.
        let ln3 = 3f32.ln();
        let logits = [0.0, ln3, 0.0, ln3, 9.0, 0.0];
        let batch = Batch {
            batch: 1,
            seq: 3,
            inputs: vec![0; 3],
            targets: vec![1, 0, IGNORE],
        };
        let expected = (-(0.75f64).ln() - (0.25f64).ln()) / 2.0;
        assert!((f64::from(cross_entropy(&logits, &batch, 2)) - expected).abs() < 1e-6);
        assert_eq!(token_accuracy(&logits, &batch, 2), 0.5);
        let (loss, accuracy) = score_batches(
            &[batch.clone(), batch],
            &[logits.to_vec(), logits.to_vec()],
            2,
        );
        assert!((f64::from(loss) - expected).abs() < 1e-6);
        assert_eq!(accuracy, 0.5);
    }

    #[test]
    fn log_sum_exp_does_not_overflow() {
        let lse = log_sum_exp([1000.0, 1000.0].into_iter());
        assert!((lse - (1000.0 + 2f64.ln())).abs() < 1e-9);
    }
}
