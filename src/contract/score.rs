//! Scoring logits against a batch's targets, as an evaluation does on either engine: mean
//! cross-entropy over the scored positions, next-token accuracy, and for text the loss in bits
//! per character (which compares across tokenizers, unlike nats per token).

use super::batch::{Batch, IGNORE};

/// `log(sum(exp(x)))` of a row, in f64, shifted by its maximum so that nothing overflows.
pub fn log_sum_exp(row: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = row.clone().fold(f64::NEG_INFINITY, f64::max);
    max + row.map(|x| (x - max).exp()).sum::<f64>().ln()
}

/// Each scored position's target (not `IGNORE`) and its cross-entropy in nats, for `logits`
/// `[batch * seq, vocab]`.
fn token_losses<'a>(
    logits: &'a [f32],
    batch: &'a Batch,
    vocab: usize,
) -> impl Iterator<Item = (u32, f64)> + 'a {
    logits
        .chunks_exact(vocab)
        .zip(&batch.targets)
        .filter(|&(_, &target)| target != IGNORE)
        .map(|(row, &target)| {
            let nats =
                log_sum_exp(row.iter().map(|&x| f64::from(x))) - f64::from(row[target as usize]);
            (target as u32, nats)
        })
}

/// Mean cross-entropy (nats) of `logits` `[batch * seq, vocab]` over the positions whose
/// target is not `IGNORE`; NaN when none is scored.
pub fn cross_entropy(logits: &[f32], batch: &Batch, vocab: usize) -> f32 {
    let (total, count) = token_losses(logits, batch, vocab)
        .fold((0.0f64, 0usize), |(total, count), (_, nats)| {
            (total + nats, count + 1)
        });
    (total / count as f64) as f32
}

/// What a validation reports.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Validation {
    /// Mean cross-entropy per token, nats (the mean of the batches' means).
    pub loss: f32,
    /// Next-token accuracy.
    pub accuracy: f32,
    /// Bits per character of the text the targets decode to; `None` without a text (a
    /// synthetic task), NaN when the targets hold no character.
    pub bits_per_char: Option<f32>,
}

/// Scores `logits`, one `[batch * seq, vocab]` per batch of `batches`, in order.
/// `chars_per_token[id]` is how many characters token `id` adds to the text (given for text
/// data): the bits per character are the summed cross-entropy over the summed characters of
/// the targets, divided by ln 2.
pub fn score_batches(
    batches: &[Batch],
    logits: &[Vec<f32>],
    vocab: usize,
    chars_per_token: Option<&[u32]>,
) -> Validation {
    assert_eq!(batches.len(), logits.len(), "one set of logits per batch");
    let (mut loss, mut accuracy) = (0.0, 0.0);
    let (mut nats, mut chars) = (0.0f64, 0u64);
    for (batch, logits) in batches.iter().zip(logits) {
        loss += cross_entropy(logits, batch, vocab);
        accuracy += token_accuracy(logits, batch, vocab);
        if let Some(table) = chars_per_token {
            for (target, token_nats) in token_losses(logits, batch, vocab) {
                nats += token_nats;
                chars += u64::from(table[target as usize]);
            }
        }
    }
    let n = batches.len().max(1) as f32;
    Validation {
        loss: loss / n,
        accuracy: accuracy / n,
        bits_per_char: chars_per_token.map(|_| match chars {
            0 => f32::NAN,
            _ => (nats / chars as f64 / std::f64::consts::LN_2) as f32,
        }),
    }
}

/// Index of the largest logit (the first on ties; NaN never wins).
fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |best, i| if row[i] > row[best] { i } else { best })
}

/// For every scored position (target not `IGNORE`), whether the argmax is right.
fn graded<'a>(
    logits: &'a [f32],
    batch: &'a Batch,
    vocab: usize,
) -> impl Iterator<Item = bool> + 'a {
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
            argmax(row) == t as usize
        })
}

/// Fraction of scored positions whose argmax logit is the target. Logits are [batch * seq, vocab].
/// NaN when nothing is scored (an undefined ratio, rather than a misleading 0 or 1).
pub fn token_accuracy(logits: &[f32], batch: &Batch, vocab: usize) -> f32 {
    let (right, total) = graded(logits, batch, vocab)
        .fold((0usize, 0usize), |(r, n), ok| (r + usize::from(ok), n + 1));
    right as f32 / total as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cross_entropy_and_accuracy_by_hand() {
        let (logits, batch, nats) = two_scored();
        let expected = nats / 2.0;
        assert!((f64::from(cross_entropy(&logits, &batch, 2)) - expected).abs() < 1e-6);
        assert_eq!(token_accuracy(&logits, &batch, 2), 0.5);
        let scores = score_batches(
            &[batch.clone(), batch],
            &[logits.to_vec(), logits.to_vec()],
            2,
            None,
        );
        assert!((f64::from(scores.loss) - expected).abs() < 1e-6);
        assert_eq!(scores.accuracy, 0.5);
        assert_eq!(scores.bits_per_char, None, "no text, no characters");
    }

    /// Row 0: logits [0, ln 3] -> p = [1/4, 3/4], target 1: -ln(3/4) nats, right. Row 1:
    /// target 0: -ln(1/4), wrong (argmax 1). Row 2 ignored. Returns the summed nats too.
    fn two_scored() -> (Vec<f32>, Batch, f64) {
        let ln3 = 3f32.ln();
        let logits = vec![0.0, ln3, 0.0, ln3, 9.0, 0.0];
        let batch = Batch {
            batch: 1,
            seq: 3,
            inputs: vec![0; 3],
            targets: vec![1, 0, IGNORE],
        };
        (logits, batch, -(0.75f64).ln() - (0.25f64).ln())
    }

    #[test]
    fn bits_per_character_by_hand() {
        let (logits, batch, nats) = two_scored();
        let bpc = |table: &[u32]| {
            let scores = score_batches(
                std::slice::from_ref(&batch),
                std::slice::from_ref(&logits),
                2,
                Some(table),
            );
            f64::from(
                scores
                    .bits_per_char
                    .expect("a table gives bits per character"),
            )
        };
        // One character per token: bits per character are nats per token / ln 2.
        let per_token = nats / 2.0 / 2f64.ln();
        assert!((bpc(&[1, 1]) - per_token).abs() < 1e-6);
        // Two characters per token: half as many bits per character.
        assert!((bpc(&[2, 2]) - per_token / 2.0).abs() < 1e-6);
        // Targets 1 (3 characters) and 0 (1 character): 4 characters in all; the ignored
        // position's characters do not count.
        assert!((bpc(&[1, 3]) - nats / 4.0 / 2f64.ln()).abs() < 1e-6);
        // Targets that add no character (only continuation bytes) leave the ratio undefined.
        assert!(bpc(&[0, 0]).is_nan());
    }

    #[test]
    fn log_sum_exp_does_not_overflow() {
        let lse = log_sum_exp([1000.0, 1000.0].into_iter());
        assert!((lse - (1000.0 + 2f64.ln())).abs() < 1e-9);
    }
}
