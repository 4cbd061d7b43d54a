//! Text data: the built-in corpus and a tokenized text cut into training and validation batches.

#[cfg(not(target_arch = "wasm32"))]
use std::io::Read;
use std::sync::{Arc, OnceLock};

use super::data::{below, step_rng, DataError, Split};
use super::tokenizer::Tokenizer;
use crate::contract::Batch;

/// Tiny Shakespeare (1.1 MB, public domain, from Karpathy's char-rnn; see `data/README.md`).
/// The command line compiles it in as bzip2 (`data/tinyshakespeare.txt.bz2`, 328 KB), decoded
/// once on first use. The page fetches it gzipped from beside its wasm
/// (`tinyshakespeare.txt.gz`, written by `cargo xtask build`) and the browser decodes it
/// before the lab opens ([`provide_builtin`]): compiled in, it took 328 KB of the 1.5 MB the
/// page's gzipped wasm may take (issue 14), a separate file downloads while the wasm compiles,
/// and bzip2 decoded in the wasm was most of the page's longest task before its first step
/// (issue 12). Refused, with the reason, on the page when that fetch failed.
pub fn builtin_corpus() -> Result<&'static str, DataError> {
    builtin_text()
        .map_err(|why| DataError::invalid("data.source", format!("the built-in text {why}")))
}

#[cfg(not(target_arch = "wasm32"))]
fn builtin_text() -> Result<&'static str, String> {
    static CORPUS: OnceLock<Result<String, String>> = OnceLock::new();
    let decoded = CORPUS.get_or_init(|| {
        let compressed: &[u8] = include_bytes!("../../data/tinyshakespeare.txt.bz2");
        let mut text = String::new();
        bzip2_rs::DecoderReader::new(compressed)
            .read_to_string(&mut text)
            .map_err(|e| format!("is not whole bzip2 of UTF-8 text: {e}"))?;
        Ok(text)
    });
    decoded.as_deref().map_err(Clone::clone)
}

/// The page's fetch of `tinyshakespeare.txt.gz`: its text, or why it could not be had.
#[cfg(target_arch = "wasm32")]
static FETCHED: OnceLock<Result<String, String>> = OnceLock::new();

/// Gives the page's fetched text (or why the fetch failed) to [`builtin_corpus`]; only the
/// first call counts.
#[cfg(target_arch = "wasm32")]
pub fn provide_builtin(fetched: Result<String, String>) {
    let _ = FETCHED.set(fetched);
}

#[cfg(target_arch = "wasm32")]
fn builtin_text() -> Result<&'static str, String> {
    match FETCHED.get() {
        Some(Ok(text)) => Ok(text),
        Some(Err(why)) => Err(format!("could not be loaded: {why}")),
        None => Err("could not be loaded: was not fetched yet".into()),
    }
}

/// The largest text a run trains on: 16 MiB, fifteen times Tiny Shakespeare; a larger paste or
/// file would take the page's memory (a tokenized character is 4 bytes more) for no lesson.
pub const TEXT_LIMIT: usize = 16 << 20;

/// A visitor's text (a file's bytes or a paste) as training text, or why not: empty, over
/// [`TEXT_LIMIT`], not UTF-8 (with the offset of the first bad byte), or binary (a control
/// character other than tab, line feed, form feed or carriage return: a UTF-16 text, an image
/// or an archive that happens to decode). Errors are about the field `text`.
pub fn user_text(bytes: &[u8]) -> Result<&str, DataError> {
    if bytes.is_empty() {
        return Err(DataError::invalid(
            "text",
            "is empty: there is nothing to train on",
        ));
    }
    if bytes.len() > TEXT_LIMIT {
        return Err(DataError::invalid(
            "text",
            format!(
                "has {} bytes, more than the limit of {TEXT_LIMIT} (16 MiB)",
                bytes.len()
            ),
        ));
    }
    let text = super::tokenizer::utf8(bytes)?;
    let binary = text
        .char_indices()
        .find(|(_, c)| c.is_control() && !matches!(c, '\t' | '\n' | '\x0c' | '\r'));
    match binary {
        Some((offset, c)) => Err(DataError::invalid(
            "text",
            format!(
                "looks binary, not text: control character U+{:04X} at byte {offset}",
                u32::from(c)
            ),
        )),
        None => Ok(text),
    }
}

/// Checks a validation fraction: both splits must keep some tokens.
pub fn check_validation_fraction(fraction: f64) -> Result<(), DataError> {
    if fraction > 0.0 && fraction < 1.0 {
        Ok(())
    } else {
        Err(DataError::invalid(
            "validation_fraction",
            format!("{fraction} must lie strictly between 0 and 1: both splits need tokens"),
        ))
    }
}

/// A tokenized text: the first part trains, the last `validation_fraction` validates. The split is
/// a cut, not a shuffle, so that no validation window shares text with a training window.
#[derive(Clone, Debug)]
pub struct TextDataset {
    /// The tokenizer that produced `tokens`, kept to decode samples and label tokens.
    tokenizer: Tokenizer,
    /// Tokens of the whole text, in order; shared by the clones (the page's runs on the same
    /// data share one copy instead of a few MB each).
    tokens: Arc<[u32]>,
    /// Index of the first validation token.
    split_at: usize,
    /// Seed of every batch; with the split and the step it fixes the batch.
    seed: u64,
}

impl TextDataset {
    /// The same tokens (shared, not copied) drawing batches from `seed`.
    pub fn with_seed(&self, seed: u64) -> Self {
        Self {
            seed,
            ..self.clone()
        }
    }

    /// Tokenizes `text` and cuts it (the last `validation_fraction` of the tokens, rounded,
    /// validates). Empty text is refused.
    pub fn new(
        text: &str,
        tokenizer: Tokenizer,
        validation_fraction: f64,
        seed: u64,
    ) -> Result<Self, DataError> {
        if text.is_empty() {
            return Err(DataError::invalid(
                "text",
                "is empty: there is nothing to train on",
            ));
        }
        check_validation_fraction(validation_fraction)?;
        let tokens = tokenizer.encode(text)?;
        let validation = (tokens.len() as f64 * validation_fraction).round() as usize;
        Ok(Self {
            tokenizer,
            split_at: tokens.len() - validation,
            tokens: tokens.into(),
            seed,
        })
    }

    /// The tokenizer of this text.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The tokens of one split.
    pub fn tokens(&self, split: Split) -> &[u32] {
        match split {
            Split::Train => &self.tokens[..self.split_at],
            Split::Validation => &self.tokens[self.split_at..],
        }
    }

    /// Refuses a sequence length that either split cannot fill (a run needs both).
    pub fn check_seq_len(&self, seq_len: usize) -> Result<(), DataError> {
        self.check_split(Split::Train, seq_len)?;
        self.check_split(Split::Validation, seq_len)
    }

    /// Refuses a sequence length `split` cannot fill: a window needs `seq_len + 1` tokens, the
    /// last one being only a target.
    fn check_split(&self, split: Split, seq_len: usize) -> Result<(), DataError> {
        if seq_len == 0 {
            return Err(DataError::invalid("seq_len", "must be at least 1"));
        }
        let have = self.tokens(split).len();
        if have < seq_len + 1 {
            let name = match split {
                Split::Train => "training",
                Split::Validation => "validation",
            };
            return Err(DataError::invalid(
                "seq_len",
                format!(
                    "{seq_len} needs {} tokens per sequence (inputs plus the last target), but \
                     the {name} split has only {have} of the text's {} tokens",
                    seq_len + 1,
                    self.tokens.len()
                ),
            ));
        }
        Ok(())
    }

    /// `batch_size` windows of `seq_len + 1` tokens at random offsets of `split`, drawn from
    /// (seed, split, step) alone; targets are the inputs shifted by one.
    pub fn batch(
        &self,
        split: Split,
        batch_size: usize,
        seq_len: usize,
        step: u64,
    ) -> Result<Batch, DataError> {
        if batch_size == 0 {
            return Err(DataError::invalid("batch_size", "must be at least 1"));
        }
        self.check_split(split, seq_len)?;
        let tokens = self.tokens(split);
        let mut rng = step_rng(self.seed, split, step);
        let mut inputs = Vec::with_capacity(batch_size * seq_len);
        let mut targets = Vec::with_capacity(batch_size * seq_len);
        for _ in 0..batch_size {
            // Every start with a full window after it: 0..=len - seq_len - 1.
            let start = below(&mut rng, tokens.len() - seq_len);
            let window = &tokens[start..start + seq_len + 1];
            inputs.extend_from_slice(&window[..seq_len]);
            // Ids fit in i32: vocabularies are capped far below 2^31.
            targets.extend(window[1..].iter().map(|&t| t as i32));
        }
        Ok(Batch {
            batch: batch_size,
            seq: seq_len,
            inputs,
            targets,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_text_refuses_empty_oversized_non_utf8_and_binary_text() {
        let refused = |bytes: &[u8]| user_text(bytes).unwrap_err().to_string();
        assert_eq!(refused(b""), "text: is empty: there is nothing to train on");
        assert_eq!(
            refused(&vec![b'a'; TEXT_LIMIT + 1]),
            "text: has 16777217 bytes, more than the limit of 16777216 (16 MiB)"
        );
        assert_eq!(refused(b"caf\xe9"), "text: not valid UTF-8 from byte 3 on");
        assert_eq!(
            refused(b"P\0K\x03\x04"),
            "text: looks binary, not text: control character U+0000 at byte 1"
        );
        let text = "Tabs\tand lines\r\n, accents é and ☃\x0c";
        assert_eq!(user_text(text.as_bytes()).unwrap(), text);
        assert_eq!(
            user_text(&vec![b'a'; TEXT_LIMIT]).unwrap().len(),
            TEXT_LIMIT
        );
    }
    use crate::contract::IGNORE;
    use crate::train::tokenizer::TokenizerKind;

    fn dataset(text: &str, validation_fraction: f64, seed: u64) -> TextDataset {
        let tok = Tokenizer::train(TokenizerKind::Char, text).unwrap();
        TextDataset::new(text, tok, validation_fraction, seed).unwrap()
    }

    #[test]
    fn builtin_corpus_is_tiny_shakespeare() {
        // Facts from data/README.md and the file's well-known opening.
        assert_eq!(builtin_corpus().unwrap().len(), 1_115_394);
        assert!(builtin_corpus()
            .unwrap()
            .starts_with("First Citizen:\nBefore we proceed any further"));
        // The compressed copy compiled in is the text file, byte for byte.
        let file = concat!(env!("CARGO_MANIFEST_DIR"), "/data/tinyshakespeare.txt");
        assert!(builtin_corpus().unwrap() == std::fs::read_to_string(file).unwrap());
    }

    #[test]
    fn targets_are_the_inputs_shifted_by_one_in_the_token_stream() {
        let text = &builtin_corpus().unwrap()[..20_000];
        let data = dataset(text, 0.1, 7);
        for split in [Split::Train, Split::Validation] {
            let stream = data.tokens(split);
            let (b, t) = (4, 16);
            let batch = data.batch(split, b, t, 3).unwrap();
            assert_eq!((batch.batch, batch.seq), (b, t));
            assert_eq!(batch.inputs.len(), b * t);
            assert_eq!(batch.targets.len(), b * t);
            for row in 0..b {
                let inputs = &batch.inputs[row * t..(row + 1) * t];
                let targets = &batch.targets[row * t..(row + 1) * t];
                assert!(
                    targets.iter().all(|&x| x != IGNORE),
                    "text counts every position"
                );
                // Some window of the split holds the inputs, followed by the targets.
                let found = (0..stream.len() - t).any(|s| {
                    &stream[s..s + t] == inputs
                        && stream[s + 1..s + t + 1]
                            .iter()
                            .zip(targets)
                            .all(|(&a, &b)| a as i32 == b)
                });
                assert!(found, "row {row} of {split:?} is not a window of the split");
            }
        }
    }

    #[test]
    fn batches_depend_on_seed_split_and_step_only() {
        let text = &builtin_corpus().unwrap()[..20_000];
        let a = dataset(text, 0.1, 1);
        let b = dataset(text, 0.1, 1);
        let c = dataset(text, 0.1, 2);
        let batch = |d: &TextDataset, split, step| d.batch(split, 8, 32, step).unwrap();
        assert_eq!(batch(&a, Split::Train, 5), batch(&b, Split::Train, 5));
        assert_ne!(batch(&a, Split::Train, 5), batch(&a, Split::Train, 6));
        assert_ne!(batch(&a, Split::Train, 5), batch(&c, Split::Train, 5));
        assert_ne!(
            batch(&a, Split::Validation, 5).inputs,
            batch(&a, Split::Train, 5).inputs
        );
        // The batch size does not shift which windows earlier rows get.
        let small = a.batch(Split::Train, 3, 32, 5).unwrap();
        assert_eq!(small.inputs, batch(&a, Split::Train, 5).inputs[..3 * 32]);
    }

    #[test]
    fn train_and_validation_never_overlap() {
        // 900 lowercase characters, then 100 uppercase ones: a 10% validation split is exactly
        // the uppercase part, so any overlap shows as a character of the wrong case.
        let lower: String = (0..900)
            .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
            .collect();
        let upper: String = (0..100)
            .map(|i| char::from(b'A' + (i * 3 % 26) as u8))
            .collect();
        let text = lower + &upper;
        let data = dataset(&text, 0.1, 0);
        assert_eq!(data.tokens(Split::Validation).len(), 100);
        let tok = data.tokenizer();
        for step in 0..50 {
            for (split, lowercase) in [(Split::Train, true), (Split::Validation, false)] {
                let batch = data.batch(split, 4, 20, step).unwrap();
                let targets: Vec<u32> = batch.targets.iter().map(|&t| t as u32).collect();
                let seen = tok.decode(&batch.inputs) + &tok.decode(&targets);
                assert!(
                    seen.chars().all(|c| c.is_ascii_lowercase() == lowercase),
                    "{split:?} batch at step {step} leaks: {seen}"
                );
            }
        }
    }

    #[test]
    fn a_text_too_short_for_one_sequence_is_refused() {
        // "hello": 5 tokens, 20% (1 token) validates, 4 train.
        let data = dataset("hello", 0.2, 0);
        assert_eq!(
            data.batch(Split::Train, 1, 4, 0).unwrap_err().to_string(),
            "seq_len: 4 needs 5 tokens per sequence (inputs plus the last target), but the \
             training split has only 4 of the text's 5 tokens"
        );
        assert!(data.batch(Split::Train, 1, 3, 0).is_ok());
        // The validation split (1 token) cannot even hold seq_len 1.
        let err = data
            .batch(Split::Validation, 1, 1, 0)
            .unwrap_err()
            .to_string();
        assert!(err.contains("the validation split has only 1"), "{err}");
    }

    #[test]
    fn bad_inputs_are_refused_naming_the_field() {
        let tok = Tokenizer::Byte;
        let err = TextDataset::new("", tok.clone(), 0.1, 0).unwrap_err();
        assert_eq!(
            err.to_string(),
            "text: is empty: there is nothing to train on"
        );
        for fraction in [0.0, 1.0, f64::NAN] {
            let err = TextDataset::new("abc", tok.clone(), fraction, 0).unwrap_err();
            assert!(
                err.to_string().starts_with("validation_fraction: "),
                "{err}"
            );
        }
        let data = TextDataset::new("abcdefghij", tok, 0.5, 0).unwrap();
        assert_eq!(
            data.batch(Split::Train, 0, 2, 0).unwrap_err().to_string(),
            "batch_size: must be at least 1"
        );
    }
}
