//! Synthetic tasks whose solutions have known attention patterns (copy: attend one step back
//! across the separator; reverse: an anti-diagonal; induction: the token after the earlier
//! occurrence), so the page's attention maps can be read against them.
//!
//! Every task shares one skeleton: an example is a token sequence plus the range of its tokens
//! that are answers; a batch row feeds the sequence as inputs, and only the answer tokens are
//! targets (the rest are `IGNORE`), because the prompt is random and cannot be predicted. Rows
//! shorter than `seq_len` are padded with a padding token whose targets are ignored: padding at
//! the end never changes the earlier positions of a causal model.
//!
//! Validation data are held out by prompt, not by step: a fixed 10% of all possible examples
//! (chosen by a hash of the example) only ever appears in validation batches, so the validation
//! loss measures generalisation even where the example space is small (modular addition).

use std::ops::Range;

use rand_core::RngCore;
use serde::{Deserialize, Serialize};

use super::data::{below, step_rng, DataError, Split};
use crate::contract::{Batch, IGNORE};

/// Most distinct symbols (or the largest modulus): keeps the toy model's embedding table small.
pub const MAX_SYMBOLS: usize = 1024;
/// Longest prompt (or induction sequence): attention maps beyond that are unreadable anyway.
pub const MAX_LENGTH: usize = 512;
/// Fewest distinct examples a task may have: with 1 in 10 held out, fewer could leave the
/// validation split empty (or nearly so, making its loss noise).
pub const MIN_EXAMPLES: u64 = 1000;
/// One example in `VALIDATION_BUCKETS` (by hash) belongs to validation.
const VALIDATION_BUCKETS: u64 = 10;

/// A synthetic task and its parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum TaskKind {
    /// `a b c d | a b c d`: repeat the prompt after the separator.
    Copy {
        /// Prompt tokens.
        length: usize,
        /// Distinct symbols the prompt is drawn from (with repetition).
        symbols: usize,
    },
    /// `a b c d | d c b a`: the prompt backwards.
    Reverse {
        /// Prompt tokens.
        length: usize,
        /// Distinct symbols the prompt is drawn from (with repetition).
        symbols: usize,
    },
    /// `d a c b | a b c d`: the prompt's symbols in increasing order.
    Sort {
        /// Prompt tokens.
        length: usize,
        /// Distinct symbols the prompt is drawn from (with repetition).
        symbols: usize,
    },
    /// Random symbols in which one random segment occurs twice; the second occurrence, after
    /// its first token, is the answer (its first token is unpredictable: nothing announces where
    /// the repeat starts).
    Induction {
        /// Tokens of the whole sequence.
        length: usize,
        /// Tokens of the repeated segment.
        segment: usize,
        /// Distinct symbols the sequence is drawn from (with repetition).
        symbols: usize,
    },
    /// `a + b = c` with `c = (a + b) mod modulus`, each number one token; `c` is the answer.
    ModularAddition {
        /// The modulus; the numbers are `0..modulus`.
        modulus: usize,
    },
}

impl TaskKind {
    /// The task's name in messages.
    fn name(&self) -> &'static str {
        match self {
            Self::Copy { .. } => "copy",
            Self::Reverse { .. } => "reverse",
            Self::Sort { .. } => "sort",
            Self::Induction { .. } => "induction",
            Self::ModularAddition { .. } => "modular addition",
        }
    }

    /// Symbol tokens (`0..symbols`), or numbers for modular addition.
    fn symbols(&self) -> usize {
        match *self {
            Self::Copy { symbols, .. }
            | Self::Reverse { symbols, .. }
            | Self::Sort { symbols, .. }
            | Self::Induction { symbols, .. } => symbols,
            Self::ModularAddition { modulus } => modulus,
        }
    }

    /// The structural tokens after the symbols, in id order, with their labels: the separator
    /// (or `+` and `=`), then the padding token.
    fn specials(&self) -> &'static [&'static str] {
        match self {
            Self::Copy { .. } | Self::Reverse { .. } | Self::Sort { .. } => &["|", "·"],
            Self::Induction { .. } => &["·"],
            Self::ModularAddition { .. } => &["+", "=", "·"],
        }
    }

    /// Token id of the `i`-th structural token.
    fn special(&self, i: usize) -> u32 {
        (self.symbols() + i) as u32
    }

    /// The padding token, always the last id.
    fn pad(&self) -> u32 {
        (self.vocab_size() - 1) as u32
    }

    /// Token ids: symbols, then structural tokens.
    pub fn vocab_size(&self) -> usize {
        self.symbols() + self.specials().len()
    }

    /// A printable label of token `id`: letters for up to 26 symbols (easier to read on an
    /// attention map), numbers otherwise and for modular addition; `�` outside the vocabulary.
    pub fn token_label(&self, id: u32) -> String {
        let id = id as usize;
        let symbols = self.symbols();
        if id < symbols {
            match self {
                Self::ModularAddition { .. } => id.to_string(),
                _ if symbols <= 26 => char::from(b'a' + id as u8).to_string(),
                _ => id.to_string(),
            }
        } else {
            self.specials()
                .get(id - symbols)
                .map_or(char::REPLACEMENT_CHARACTER.to_string(), |s| s.to_string())
        }
    }

    /// Input positions one example needs (its tokens minus one: the last token is only a
    /// target), with the formula for messages.
    pub fn positions(&self) -> (usize, &'static str) {
        match *self {
            Self::Copy { length, .. }
            | Self::Reverse { length, .. }
            | Self::Sort { length, .. } => (2 * length, "2 × length"),
            Self::Induction { length, .. } => (length.saturating_sub(1), "length - 1"),
            Self::ModularAddition { .. } => (4, "`a + b =` then the answer"),
        }
    }

    /// Checks the parameters on their own.
    pub fn validate(&self) -> Result<(), DataError> {
        let symbols = self.symbols();
        let (field, noun) = match self {
            Self::ModularAddition { .. } => ("task.modulus", "number"),
            _ => ("task.symbols", "symbol"),
        };
        if symbols < 2 {
            return Err(DataError::invalid(
                field,
                format!("{symbols} must be at least 2: with one {noun} there is nothing to learn"),
            ));
        }
        if symbols > MAX_SYMBOLS {
            return Err(DataError::invalid(
                field,
                format!(
                    "{symbols} exceeds the maximum of {MAX_SYMBOLS}: the embedding table would \
                     dwarf the toy model"
                ),
            ));
        }
        // The length to bound, the number of freely random tokens, and the field to blame when
        // they give too few distinct examples.
        let (length, random, few) = match *self {
            Self::Copy { length, .. }
            | Self::Reverse { length, .. }
            | Self::Sort { length, .. } => (length, length, "task.length"),
            Self::Induction {
                length, segment, ..
            } => {
                if segment < 2 {
                    return Err(DataError::invalid(
                        "task.segment",
                        format!(
                            "{segment} must be at least 2: the repeat's first token cannot be \
                             predicted, so a shorter segment leaves nothing to score"
                        ),
                    ));
                }
                if 2 * segment > length {
                    return Err(DataError::invalid(
                        "task.segment",
                        format!(
                            "{segment} does not fit twice in the sequence's length of {length}"
                        ),
                    ));
                }
                // The sequence is random except the repeat.
                (length, length - segment, "task.length")
            }
            Self::ModularAddition { .. } => (2, 2, "task.modulus"),
        };
        if length == 0 || length > MAX_LENGTH {
            return Err(DataError::invalid(
                "task.length",
                format!(
                    "{length} must lie in 1..={MAX_LENGTH}: longer sequences make unreadable \
                     attention maps"
                ),
            ));
        }
        let examples = (0..random).try_fold(1u64, |n, _| n.checked_mul(symbols as u64));
        if examples.is_some_and(|n| n < MIN_EXAMPLES) {
            return Err(DataError::invalid(
                few,
                format!(
                    "the {} task has only {} distinct examples; it needs at least {MIN_EXAMPLES} \
                     so that the held-out 10% is a real validation set",
                    self.name(),
                    examples.unwrap_or(0)
                ),
            ));
        }
        Ok(())
    }

    /// Checks the parameters and that one example fits in `seq_len` positions.
    pub fn validate_for(&self, seq_len: usize) -> Result<(), DataError> {
        self.validate()?;
        let (needed, formula) = self.positions();
        if seq_len < needed {
            return Err(DataError::invalid(
                "seq_len",
                format!(
                    "{seq_len} is too short for the {} task, which needs {needed} positions ({formula})",
                    self.name()
                ),
            ));
        }
        Ok(())
    }

    /// One random example: its tokens and the range of them that are answers.
    fn example(&self, rng: &mut impl RngCore) -> (Vec<u32>, Range<usize>) {
        let mut draw = |n: usize| below(rng, n) as u32;
        match *self {
            Self::Copy { length, symbols }
            | Self::Reverse { length, symbols }
            | Self::Sort { length, symbols } => {
                let mut tokens: Vec<u32> = (0..length).map(|_| draw(symbols)).collect();
                let mut answer = tokens.clone();
                match self {
                    Self::Reverse { .. } => answer.reverse(),
                    Self::Sort { .. } => answer.sort_unstable(),
                    _ => {}
                }
                tokens.push(self.special(0));
                tokens.extend(answer);
                (tokens, length + 1..2 * length + 1)
            }
            Self::Induction {
                length,
                segment,
                symbols,
            } => {
                let mut tokens: Vec<u32> = (0..length).map(|_| draw(symbols)).collect();
                let first = draw(length - 2 * segment + 1) as usize;
                let second = first + segment + draw(length - 2 * segment - first + 1) as usize;
                tokens.copy_within(first..first + segment, second);
                (tokens, second + 1..second + segment)
            }
            Self::ModularAddition { modulus } => {
                let (a, b) = (draw(modulus), draw(modulus));
                let sum = (a + b) % modulus as u32;
                (vec![a, self.special(0), b, self.special(1), sum], 4..5)
            }
        }
    }
}

/// Which split an example belongs to: a fixed function of its tokens (FNV-1a, then a
/// splitmix64 finaliser so that the low bits are well mixed).
fn split_of(tokens: &[u32]) -> Split {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &t in tokens {
        for b in t.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    if h.is_multiple_of(VALIDATION_BUCKETS) {
        Split::Validation
    } else {
        Split::Train
    }
}

/// A validated task ready to make batches.
#[derive(Clone, Debug)]
pub struct Task {
    /// The task and its parameters.
    kind: TaskKind,
    /// Positions per row; examples shorter than this are padded.
    seq_len: usize,
    /// Seed of every batch; with the split and the step it fixes the batch.
    seed: u64,
}

impl Task {
    /// Validates `kind` for rows of `seq_len` positions.
    pub fn new(kind: TaskKind, seq_len: usize, seed: u64) -> Result<Self, DataError> {
        kind.validate_for(seq_len)?;
        Ok(Self {
            kind,
            seq_len,
            seed,
        })
    }

    /// The same task drawing its batches from `seed`.
    pub fn with_seed(&self, seed: u64) -> Self {
        Self {
            seed,
            ..self.clone()
        }
    }

    /// The task and its parameters (vocabulary, labels).
    pub fn kind(&self) -> &TaskKind {
        &self.kind
    }

    /// `batch_size` examples of `split`, drawn from (seed, split, step) alone. Examples of the
    /// other split are drawn and skipped (rejection), so the splits never share an example.
    pub fn batch(&self, split: Split, batch_size: usize, step: u64) -> Batch {
        let mut rng = step_rng(self.seed, split, step);
        let n = self.seq_len;
        let mut inputs = vec![self.kind.pad(); batch_size * n];
        let mut targets = vec![IGNORE; batch_size * n];
        for row in 0..batch_size {
            let (tokens, answer) = loop {
                let example = self.kind.example(&mut rng);
                if split_of(&example.0) == split {
                    break example;
                }
            };
            let rows = row * n..(row + 1) * n;
            fill_row(
                &tokens,
                answer,
                &mut inputs[rows.clone()],
                &mut targets[rows],
            );
        }
        Batch {
            batch: batch_size,
            seq: n,
            inputs,
            targets,
        }
    }
}

/// Writes one example into a row whose inputs are already padding and targets `IGNORE`: the
/// tokens but the last as inputs, and as targets the next token wherever it is an answer.
fn fill_row(tokens: &[u32], answer: Range<usize>, inputs: &mut [u32], targets: &mut [i32]) {
    for i in 0..tokens.len() - 1 {
        inputs[i] = tokens[i];
        if answer.contains(&(i + 1)) {
            targets[i] = tokens[i + 1] as i32;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::contract::score::token_accuracy;

    const REVERSE: TaskKind = TaskKind::Reverse {
        length: 6,
        symbols: 10,
    };

    /// A row's whole example: its inputs, then the target of the last non-padding position.
    fn rows(batch: &Batch) -> impl Iterator<Item = (&[u32], &[i32])> {
        batch
            .inputs
            .chunks(batch.seq)
            .zip(batch.targets.chunks(batch.seq))
    }

    /// Labels of a row's tokens, with the final target appended: the example as text.
    fn decoded(kind: &TaskKind, inputs: &[u32], targets: &[i32], len: usize) -> Vec<String> {
        let mut tokens: Vec<u32> = inputs[..len - 1].to_vec();
        tokens.push(targets[len - 2] as u32);
        tokens.iter().map(|&t| kind.token_label(t)).collect()
    }

    fn task(kind: TaskKind, seq_len: usize) -> Task {
        Task::new(kind, seq_len, 11).unwrap()
    }

    #[test]
    fn a_hand_built_reverse_row_has_the_expected_mask() {
        // Reverse of [c a b] with 10 symbols: separator 10, padding 11; seq_len 8 > 6 positions.
        let tokens = [2, 0, 1, 10, 1, 0, 2];
        let (mut inputs, mut targets) = ([11; 8], [IGNORE; 8]);
        fill_row(&tokens, 4..7, &mut inputs, &mut targets);
        assert_eq!(inputs, [2, 0, 1, 10, 1, 0, 11, 11]);
        assert_eq!(targets, [-1, -1, -1, 1, 0, 2, -1, -1]);
    }

    #[test]
    fn copy_reverse_and_sort_answers_follow_from_the_prompt() {
        let length = 5;
        for kind in [
            TaskKind::Copy { length, symbols: 8 },
            TaskKind::Reverse { length, symbols: 8 },
            TaskKind::Sort { length, symbols: 8 },
        ] {
            let seq_len = 13; // 2 × 5 = 10 needed, 3 padding positions
            let batch = task(kind, seq_len).batch(Split::Train, 32, 0);
            for (inputs, targets) in rows(&batch) {
                let text = decoded(&kind, inputs, targets, 2 * length + 1);
                let (prompt, rest) = text.split_at(length);
                assert_eq!(rest[0], "|");
                let answer = &rest[1..];
                match kind {
                    TaskKind::Copy { .. } => assert_eq!(answer, prompt),
                    TaskKind::Reverse { .. } => {
                        for i in 0..length {
                            assert_eq!(answer[i], prompt[length - 1 - i]);
                        }
                    }
                    _ => {
                        // Sorted: non-decreasing letters, same multiset as the prompt.
                        assert!(answer.windows(2).all(|w| w[0] <= w[1]), "{answer:?}");
                        for label in prompt {
                            let count = |s: &[String]| s.iter().filter(|x| *x == label).count();
                            assert_eq!(count(prompt), count(answer));
                        }
                    }
                }
                // Scored: the positions whose next token is an answer token, 5..10.
                for (i, &t) in targets.iter().enumerate() {
                    assert_eq!(
                        t != IGNORE,
                        (length..2 * length).contains(&i),
                        "position {i}"
                    );
                }
                // Padding after the example, as inputs; its targets were checked above.
                assert!(inputs[2 * length..]
                    .iter()
                    .all(|&x| kind.token_label(x) == "·"));
            }
        }
    }

    #[test]
    fn induction_scores_the_predictable_part_of_the_repeat() {
        let (length, segment) = (24, 5);
        let kind = TaskKind::Induction {
            length,
            segment,
            symbols: 16,
        };
        let batch = task(kind, length - 1).batch(Split::Train, 64, 3);
        let mut firsts = HashSet::new();
        for (inputs, targets) in rows(&batch) {
            let mut tokens = inputs.to_vec();
            tokens.push(targets[length - 2] as u32);
            let scored: Vec<usize> = (0..length - 1).filter(|&i| targets[i] != IGNORE).collect();
            // segment - 1 consecutive positions; the repeat starts at the first scored position
            // (whose target is the repeat's second token).
            assert_eq!(scored.len(), segment - 1);
            assert!(scored.windows(2).all(|w| w[1] == w[0] + 1));
            let second = scored[0];
            let repeat = &tokens[second..second + segment];
            for &i in &scored {
                assert_eq!(targets[i] as u32, tokens[i + 1]);
            }
            // The same segment occurs earlier, without overlapping the repeat.
            let first = (0..=second - segment).find(|&p| &tokens[p..p + segment] == repeat);
            assert!(
                first.is_some(),
                "no earlier copy of {repeat:?} in {tokens:?}"
            );
            firsts.insert(first);
        }
        assert!(firsts.len() > 5, "the first occurrence moves around");
    }

    #[test]
    fn modular_addition_rows_are_sums() {
        let modulus = 97;
        let kind = TaskKind::ModularAddition { modulus };
        let batch = task(kind, 4).batch(Split::Validation, 50, 0);
        for (inputs, targets) in rows(&batch) {
            let labels: Vec<String> = inputs.iter().map(|&t| kind.token_label(t)).collect();
            assert_eq!((labels[1].as_str(), labels[3].as_str()), ("+", "="));
            let a: usize = labels[0].parse().unwrap();
            let b: usize = labels[2].parse().unwrap();
            assert_eq!(targets[..3], [IGNORE; 3]);
            assert_eq!(targets[3] as usize, (a + b) % modulus);
        }
    }

    #[test]
    fn batches_are_deterministic_per_seed_split_and_step() {
        let t = task(REVERSE, 12);
        assert_eq!(t.batch(Split::Train, 8, 4), t.batch(Split::Train, 8, 4));
        assert_eq!(
            t.batch(Split::Train, 8, 4),
            Task::new(REVERSE, 12, 11)
                .unwrap()
                .batch(Split::Train, 8, 4)
        );
        assert_ne!(t.batch(Split::Train, 8, 4), t.batch(Split::Train, 8, 5));
        assert_ne!(
            t.batch(Split::Train, 8, 4),
            Task::new(REVERSE, 12, 12)
                .unwrap()
                .batch(Split::Train, 8, 4)
        );
    }

    #[test]
    fn splits_hold_out_a_tenth_of_the_examples() {
        // 32 × 32 = 1024 sums; over enough batches each split sees almost all of its own.
        let t = task(TaskKind::ModularAddition { modulus: 32 }, 4);
        let seen = |split| -> HashSet<(u32, u32)> {
            (0..40)
                .flat_map(|step| {
                    let b = t.batch(split, 64, step);
                    b.inputs.chunks(4).map(|r| (r[0], r[2])).collect::<Vec<_>>()
                })
                .collect()
        };
        let (train, validation) = (seen(Split::Train), seen(Split::Validation));
        assert!(train.is_disjoint(&validation));
        let held_out = validation.len() as f64 / (train.len() + validation.len()) as f64;
        assert!((0.06..0.14).contains(&held_out), "held out {held_out}");
    }

    #[test]
    fn vocabularies_and_labels() {
        assert_eq!(REVERSE.vocab_size(), 12);
        let labels: Vec<String> = (0..13).map(|id| REVERSE.token_label(id)).collect();
        assert_eq!(labels.join(" "), "a b c d e f g h i j | · \u{FFFD}");
        let wide = TaskKind::Copy {
            length: 4,
            symbols: 30,
        };
        assert_eq!(wide.token_label(29), "29");
        let add = TaskKind::ModularAddition { modulus: 97 };
        assert_eq!(add.vocab_size(), 100);
        let labels: Vec<String> = [0, 96, 97, 98, 99].map(|id| add.token_label(id)).to_vec();
        assert_eq!(labels, ["0", "96", "+", "=", "·"]);
        let induction = TaskKind::Induction {
            length: 10,
            segment: 2,
            symbols: 8,
        };
        assert_eq!(induction.vocab_size(), 9);
    }

    #[test]
    fn validation_messages_name_the_field_and_the_reason() {
        let msg = |kind: TaskKind, seq_len| kind.validate_for(seq_len).unwrap_err().to_string();
        assert_eq!(
            msg(
                TaskKind::Reverse {
                    length: 16,
                    symbols: 10
                },
                20
            ),
            "seq_len: 20 is too short for the reverse task, which needs 32 positions (2 × length)"
        );
        assert_eq!(
            msg(TaskKind::ModularAddition { modulus: 97 }, 3),
            "seq_len: 3 is too short for the modular addition task, which needs 4 positions \
             (`a + b =` then the answer)"
        );
        assert_eq!(
            msg(
                TaskKind::Copy {
                    length: 8,
                    symbols: 1
                },
                16
            ),
            "task.symbols: 1 must be at least 2: with one symbol there is nothing to learn"
        );
        assert_eq!(
            msg(TaskKind::ModularAddition { modulus: 31 }, 4),
            "task.modulus: the modular addition task has only 961 distinct examples; it needs at \
             least 1000 so that the held-out 10% is a real validation set"
        );
        assert_eq!(
            msg(
                TaskKind::Sort {
                    length: 3,
                    symbols: 9
                },
                6
            ),
            "task.length: the sort task has only 729 distinct examples; it needs at least 1000 \
             so that the held-out 10% is a real validation set"
        );
        let induction = |segment| TaskKind::Induction {
            length: 10,
            segment,
            symbols: 16,
        };
        assert!(msg(induction(1), 9).starts_with("task.segment: 1 must be at least 2"));
        assert_eq!(
            msg(induction(6), 9),
            "task.segment: 6 does not fit twice in the sequence's length of 10"
        );
        assert!(induction(5).validate_for(9).is_ok());
        assert!(msg(
            TaskKind::Copy {
                length: 600,
                symbols: 4
            },
            1200
        )
        .starts_with("task.length: 600"));
        assert!(msg(
            TaskKind::Copy {
                length: 4,
                symbols: 2000
            },
            8
        )
        .starts_with("task.symbols: 2000 exceeds"));
    }

    #[test]
    fn task_kind_reads_its_json_form() {
        let kind: TaskKind =
            serde_json::from_str(r#"{"task":"induction","length":32,"segment":6,"symbols":20}"#)
                .unwrap();
        assert_eq!(
            kind,
            TaskKind::Induction {
                length: 32,
                segment: 6,
                symbols: 20
            }
        );
    }

    /// A batch of 2 rows × 2 positions with hand-chosen targets, vocabulary 3.
    fn hand_batch() -> Batch {
        Batch {
            batch: 2,
            seq: 2,
            inputs: vec![0; 4],
            targets: vec![IGNORE, 1, 2, 0],
        }
    }

    #[test]
    fn accuracy_counts_only_scored_positions() {
        let logits = [
            9.0, 0.0, 0.0, // ignored, would be wrong
            0.0, 2.0, 1.0, // target 1: right
            3.0, 0.0, 2.0, // target 2: wrong
            5.0, 5.0, 1.0, // target 0: right (a tie goes to the first index)
        ];
        let batch = hand_batch();
        assert!((token_accuracy(&logits, &batch, 3) - 2.0 / 3.0).abs() < 1e-6);
        let all_ignored = Batch {
            targets: vec![IGNORE; 4],
            ..hand_batch()
        };
        assert!(token_accuracy(&logits, &all_ignored, 3).is_nan());
    }

    #[test]
    #[should_panic(expected = "logits must be [batch * seq, vocab]")]
    fn accuracy_refuses_misshapen_logits() {
        token_accuracy(&[0.0; 11], &hand_batch(), 3);
    }
}
