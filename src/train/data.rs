//! The data configuration the CLI and the page share, the batch stream built from it, and the
//! pieces every data source uses: errors, splits, per-step random generators.

use std::collections::HashMap;

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use serde::{Deserialize, Serialize};

use super::corpus::{builtin_corpus, check_validation_fraction, TextDataset};
use super::tasks::{Task, TaskKind};
use super::tokenizer::{Tokenizer, TokenizerKind};
use crate::contract::Batch;

/// Why data could not be built. Display always reads `field: reason`.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DataError {
    /// A configuration value or an input that does not fit.
    #[error("{field}: {reason}")]
    Invalid {
        /// The configuration field (dotted path) or input at fault.
        field: &'static str,
        /// What is wrong with it and, where useful, the limit and why.
        reason: String,
    },
    /// Text given as bytes that are not UTF-8, for a tokenizer that needs characters.
    #[error("text: not valid UTF-8 from byte {offset} on")]
    NotUtf8 {
        /// Length of the valid UTF-8 prefix.
        offset: usize,
    },
    /// A character outside a character tokenizer's alphabet.
    #[error("text: character {ch:?} at position {position} is not in the character tokenizer's vocabulary")]
    UnseenChar {
        /// The character.
        ch: char,
        /// Its index, in characters, in the encoded text.
        position: usize,
    },
}

impl DataError {
    /// Shorthand for [`DataError::Invalid`].
    pub fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field,
            reason: reason.into(),
        }
    }
}

/// Which part of the data a batch comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Data the model trains on.
    Train,
    /// Held-out data for the validation loss.
    Validation,
}

/// The random generator of one batch: a function of (seed, split, step) only, so any batch can be
/// regenerated on its own (a resumed run, the page and the CLI see the same batches). The seed and
/// the split form the ChaCha key and the step the stream, so no two triples share a generator.
pub fn step_rng(seed: u64, split: Split, step: u64) -> ChaCha8Rng {
    let mut key = [0u8; 32];
    key[..8].copy_from_slice(&seed.to_le_bytes());
    key[8] = split as u8;
    let mut rng = ChaCha8Rng::from_seed(key);
    rng.set_stream(step);
    rng
}

/// A uniform integer in `0..n` (n > 0), by a 64x64-bit multiply-high: the bias is below n / 2^64,
/// far under anything a training run can see, and there is no rejection loop.
pub fn below(rng: &mut impl RngCore, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// Entropy in nats of the tokens' unigram distribution: the loss of the best model that ignores
/// context, the bar a trained model must beat.
pub fn unigram_entropy(tokens: &[u32]) -> f64 {
    let mut counts: HashMap<u32, usize> = HashMap::new();
    for &t in tokens {
        *counts.entry(t).or_default() += 1;
    }
    let total = tokens.len() as f64;
    counts
        .values()
        .map(|&n| {
            let p = n as f64 / total;
            -p * p.ln()
        })
        .sum()
}

/// Where the tokens come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DataSource {
    /// A synthetic task whose attention patterns are readable.
    Task(TaskKind),
    /// The built-in Tiny Shakespeare corpus.
    Corpus {
        /// How to tokenize it.
        tokenizer: TokenizerKind,
    },
    /// A text the user supplies when the stream is built (kept out of the configuration so that
    /// the configuration stays small enough for a URL).
    Text {
        /// How to tokenize it.
        tokenizer: TokenizerKind,
    },
}

/// Where a run's batches come from. Their size and seed are the training configuration's
/// (`TrainConfig::{batch_size, seq_len, seed}`), given to [`DataConfig::build`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataConfig {
    /// Where the tokens come from.
    pub source: DataSource,
    /// Fraction of a text's tokens (its end) held out for validation; tasks hold out a fixed 10%
    /// of their prompts instead (see `tasks`).
    pub validation_fraction: f64,
}

impl Default for DataConfig {
    /// The built-in corpus, one token per character: the classic first language model.
    fn default() -> Self {
        Self {
            source: DataSource::Corpus {
                tokenizer: TokenizerKind::Char,
            },
            validation_fraction: 0.1,
        }
    }
}

/// The shape and seed of a run's batches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchShape {
    /// Sequences per batch, >= 1.
    pub batch_size: usize,
    /// Positions per sequence, >= 1; a task shorter than this is padded with ignored positions.
    pub seq_len: usize,
    /// Seed of every batch; with the step it fixes the batch.
    pub seed: u64,
}

impl DataConfig {
    /// Checks everything that can be checked without the text.
    pub fn validate(&self, shape: BatchShape) -> Result<(), DataError> {
        if shape.batch_size == 0 {
            return Err(DataError::invalid("batch_size", "must be at least 1"));
        }
        if shape.seq_len == 0 {
            return Err(DataError::invalid("seq_len", "must be at least 1"));
        }
        check_validation_fraction(self.validation_fraction)?;
        match &self.source {
            DataSource::Task(kind) => kind.validate_for(shape.seq_len),
            DataSource::Corpus { tokenizer } | DataSource::Text { tokenizer } => {
                tokenizer.validate()
            }
        }
    }

    /// Builds the batch stream. `text` is the user's text for [`DataSource::Text`] and must be
    /// `None` for the other sources, so that a text is never silently ignored.
    pub fn build(&self, shape: BatchShape, text: Option<&str>) -> Result<DataStream, DataError> {
        self.validate(shape)?;
        let source = match (&self.source, text) {
            (DataSource::Task(kind), None) => {
                Source::Task(Task::new(*kind, shape.seq_len, shape.seed)?)
            }
            (DataSource::Corpus { tokenizer }, None) => {
                Source::Text(self.dataset(builtin_corpus()?, *tokenizer, shape)?)
            }
            (DataSource::Text { tokenizer }, Some(text)) => {
                Source::Text(self.dataset(text, *tokenizer, shape)?)
            }
            (DataSource::Text { .. }, None) => {
                return Err(DataError::invalid("text", "the text source needs a text"))
            }
            (_, Some(_)) => {
                return Err(DataError::invalid(
                    "text",
                    "only the text source takes a text; tasks and the corpus bring their own",
                ))
            }
        };
        Ok(DataStream {
            source,
            batch_size: shape.batch_size,
            seq_len: shape.seq_len,
        })
    }

    /// A tokenized text dataset, refused if a split cannot fill one sequence.
    fn dataset(
        &self,
        text: &str,
        kind: TokenizerKind,
        shape: BatchShape,
    ) -> Result<TextDataset, DataError> {
        let tokenizer = Tokenizer::train(kind, text)?;
        let dataset = TextDataset::new(text, tokenizer, self.validation_fraction, shape.seed)?;
        dataset.check_seq_len(shape.seq_len)?;
        Ok(dataset)
    }
}

/// A validated source of batches: any (split, step) gives its batch, always the same one.
#[derive(Clone, Debug)]
pub struct DataStream {
    /// Where the batches come from.
    source: Source,
    /// Sequences per batch.
    batch_size: usize,
    /// Positions per sequence.
    seq_len: usize,
}

/// The built form of a [`DataSource`].
#[derive(Clone, Debug)]
enum Source {
    /// A synthetic task.
    Task(Task),
    /// A tokenized text (the corpus or the user's).
    Text(TextDataset),
    /// One given batch, every step's and every split's (`archlab train --tokens`).
    Fixed {
        /// The batch.
        batch: Batch,
        /// The vocabulary of the model its ids index.
        vocab_size: usize,
    },
}

impl DataStream {
    /// The same data (a text's tokens shared, not copied) drawing its batches from `seed`:
    /// what building it again with that seed gives, without tokenizing again.
    pub fn with_seed(&self, seed: u64) -> Self {
        let source = match &self.source {
            Source::Task(task) => Source::Task(task.with_seed(seed)),
            Source::Text(text) => Source::Text(text.with_seed(seed)),
            fixed @ Source::Fixed { .. } => fixed.clone(),
        };
        Self {
            source,
            ..self.clone()
        }
    }

    /// A stream that gives `batch` for every split and step: training on given tokens, with
    /// validation on the same tokens. Its ids must be below `vocab_size` (the caller checks).
    pub fn fixed(batch: Batch, vocab_size: usize) -> Self {
        debug_assert!(batch.inputs.iter().all(|&id| (id as usize) < vocab_size));
        Self {
            batch_size: batch.batch,
            seq_len: batch.seq,
            source: Source::Fixed { batch, vocab_size },
        }
    }

    /// The batch of `split` at `step`.
    pub fn batch(&self, split: Split, step: u64) -> Batch {
        match &self.source {
            Source::Task(task) => task.batch(split, self.batch_size, step),
            Source::Text(data) => data
                .batch(split, self.batch_size, self.seq_len, step)
                .expect("the sizes were checked when the stream was built"),
            Source::Fixed { batch, .. } => batch.clone(),
        }
    }

    /// Number of token ids the model must embed.
    pub fn vocab_size(&self) -> usize {
        match &self.source {
            Source::Task(task) => task.kind().vocab_size(),
            Source::Text(data) => data.tokenizer().vocab_size(),
            Source::Fixed { vocab_size, .. } => *vocab_size,
        }
    }

    /// A printable label of token `id`, for attention-map axes.
    pub fn token_label(&self, id: u32) -> String {
        match &self.source {
            Source::Task(task) => task.kind().token_label(id),
            Source::Text(data) => data.tokenizer().token_label(id),
            Source::Fixed { .. } => id.to_string(),
        }
    }

    /// For a text source, how many characters each token id adds to the text
    /// ([`Tokenizer::chars_per_token`]): what turns a loss into bits per character.
    pub fn chars_per_token(&self) -> Option<Vec<u32>> {
        self.tokenizer().map(Tokenizer::chars_per_token)
    }

    /// The tokenizer of a text source (to save with a checkpoint, to decode samples).
    pub fn tokenizer(&self) -> Option<&Tokenizer> {
        match &self.source {
            Source::Task(_) | Source::Fixed { .. } => None,
            Source::Text(data) => Some(data.tokenizer()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::IGNORE;

    fn config(source: DataSource) -> DataConfig {
        DataConfig {
            source,
            validation_fraction: 0.1,
        }
    }

    fn shape(seq_len: usize) -> BatchShape {
        BatchShape {
            batch_size: 4,
            seq_len,
            seed: 5,
        }
    }

    #[test]
    fn a_reseeded_stream_draws_what_a_fresh_build_draws() {
        let task = DataConfig {
            source: DataSource::Task(TaskKind::Copy {
                length: 3,
                symbols: 10,
            }),
            ..DataConfig::default()
        };
        for data in [DataConfig::default(), task] {
            let shape = |seed| BatchShape {
                batch_size: 2,
                seq_len: 8,
                seed,
            };
            let built = data.build(shape(1), None).unwrap();
            let fresh = data.build(shape(7), None).unwrap();
            let reseeded = built.with_seed(7);
            for split in [Split::Train, Split::Validation] {
                assert_eq!(reseeded.batch(split, 3), fresh.batch(split, 3));
                assert_ne!(built.batch(split, 3), fresh.batch(split, 3));
            }
        }
    }

    #[test]
    fn unigram_entropy_matches_hand_computed_values() {
        // p = 1/2, 1/4, 1/4: H = 1/2 ln 2 + 2 × 1/4 ln 4 = 1.5 ln 2.
        let h = unigram_entropy(&[7, 7, 1, 2]);
        assert!((h - 1.5 * std::f64::consts::LN_2).abs() < 1e-12, "{h}");
        assert!((unigram_entropy(&[0, 1, 2, 3]) - 4f64.ln()).abs() < 1e-12);
        assert_eq!(unigram_entropy(&[3, 3, 3]), 0.0);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = step_rng(0, Split::Train, 0);
        let mut seen = [0usize; 7];
        for _ in 0..7000 {
            seen[below(&mut rng, 7)] += 1;
        }
        // Each of 7 values about 1000 times (binomial sd about 30).
        assert!(seen.iter().all(|&n| (850..1150).contains(&n)), "{seen:?}");
    }

    #[test]
    fn config_reads_its_json_form_and_builds_a_task_stream() {
        let json = r#"{
            "source": {"type": "task", "task": "copy", "length": 4, "symbols": 10},
            "validation_fraction": 0.1
        }"#;
        let parsed: DataConfig = serde_json::from_str(json).unwrap();
        let kind = TaskKind::Copy {
            length: 4,
            symbols: 10,
        };
        assert_eq!(parsed, config(DataSource::Task(kind)));
        let stream = parsed.build(shape(10), None).unwrap();
        assert_eq!(stream.vocab_size(), 12);
        assert_eq!(stream.token_label(10), "|");
        assert!(stream.tokenizer().is_none());
        let batch = stream.batch(Split::Train, 3);
        assert_eq!((batch.batch, batch.seq), (4, 10));
        assert_eq!(batch, stream.batch(Split::Train, 3));
    }

    #[test]
    fn a_fixed_stream_gives_its_batch_for_every_split_and_step() {
        let batch = Batch {
            batch: 1,
            seq: 3,
            inputs: vec![4, 0, 2],
            targets: vec![0, 2, IGNORE],
        };
        let stream = DataStream::fixed(batch.clone(), 5);
        assert_eq!(stream.batch(Split::Train, 0), batch);
        assert_eq!(stream.batch(Split::Train, 7), batch);
        assert_eq!(stream.batch(Split::Validation, 3), batch);
        assert_eq!(
            (stream.vocab_size(), stream.token_label(4)),
            (5, "4".into())
        );
        assert!(stream.tokenizer().is_none());
    }

    #[test]
    fn corpus_and_text_streams_tokenize_and_batch() {
        let corpus = config(DataSource::Corpus {
            tokenizer: TokenizerKind::Char,
        });
        let stream = corpus.build(shape(64), None).unwrap();
        assert_eq!(stream.vocab_size(), 65);
        let batch = stream.batch(Split::Validation, 0);
        assert_eq!(batch.inputs.len(), 4 * 64);
        assert!(batch.targets.iter().all(|&t| t != IGNORE));

        let text = config(DataSource::Text {
            tokenizer: TokenizerKind::Byte,
        });
        // 18 bytes: 2 validate, enough for one input and its target.
        let stream = text.build(shape(1), Some("to be or not to be")).unwrap();
        assert_eq!(stream.token_label(u32::from(b' ')), "␣");
        assert_eq!(stream.tokenizer(), Some(&Tokenizer::Byte));
    }

    #[test]
    fn build_refuses_what_does_not_fit_naming_the_field() {
        let err = |source: &DataSource, seq_len: usize, text: Option<&str>| {
            config(source.clone())
                .build(shape(seq_len), text)
                .unwrap_err()
                .to_string()
        };
        let byte_text = DataSource::Text {
            tokenizer: TokenizerKind::Byte,
        };
        assert_eq!(
            err(&byte_text, 8, None),
            "text: the text source needs a text"
        );
        let corpus = DataSource::Corpus {
            tokenizer: TokenizerKind::Bpe { vocab_size: 9000 },
        };
        assert!(err(&corpus, 8, None).starts_with("tokenizer.vocab_size: 9000"));
        let copy = DataSource::Task(TaskKind::Copy {
            length: 4,
            symbols: 10,
        });
        assert!(err(&copy, 8, Some("x")).starts_with("text: only the text source"));
        assert!(err(&copy, 7, None).starts_with("seq_len: 7 is too short for the copy task"));
        // 20 bytes: 18 train, 2 validation; a sequence of 2 needs 3 tokens in each split.
        assert_eq!(
            err(&byte_text, 2, Some("twenty bytes of text")),
            "seq_len: 2 needs 3 tokens per sequence (inputs plus the last target), but the \
             validation split has only 2 of the text's 20 tokens"
        );
        assert_eq!(
            err(&byte_text, 8, Some("")),
            "text: is empty: there is nothing to train on"
        );
        let zero_batch = BatchShape {
            batch_size: 0,
            ..shape(8)
        };
        assert_eq!(
            config(byte_text.clone())
                .validate(zero_batch)
                .unwrap_err()
                .to_string(),
            "batch_size: must be at least 1"
        );
        assert_eq!(
            config(byte_text)
                .validate(shape(0))
                .unwrap_err()
                .to_string(),
            "seq_len: must be at least 1"
        );
    }
}
