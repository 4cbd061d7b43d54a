//! Hugging Face tokenizers (`tokenizer.json`) of the BPE kind, so that an imported model reads
//! and writes text: byte-level BPE (GPT-2, LLaMA 3, Qwen, GPT-NeoX) and SentencePiece-style BPE
//! (LLaMA 2, Mistral, Gemma: "▁" for spaces, `<0xNN>` byte fallback).
//!
//! A small reader of our own rather than the `tokenizers` crate: this is the pipeline that crate
//! runs with `encode(text, add_special_tokens=False)` and `decode(ids, skip_special_tokens=False)`,
//! step for step (tests/integration/hf_tokenizer.rs compares the ids and texts with what it gives
//! on fixtures), without its regex engines (the splits are written out in `split.rs`), training
//! code and parallelism. `file.rs` reads the JSON, refusing what it does not run (WordPiece,
//! Unigram, unknown split patterns) by name.
//!
//! The post-processor is not run: a BOS token is not added, the visitor types it
//! (`<|begin_of_text|>`, `<s>`), as added tokens are found in the text.

mod byte_level;
mod file;
mod split;

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;

pub use split::SplitPattern;

use super::data::DataError;
use super::tokenizer::{apply_merges, label_bytes};

/// A Hugging Face tokenizer, read from its `tokenizer.json`.
#[derive(Clone, Debug, PartialEq)]
pub struct HfTokenizer {
    /// Tokens matched in the text before anything else, longest first.
    added: Vec<AddedToken>,
    /// Applied in order to each piece of text between added tokens.
    normalizers: Vec<Normalizer>,
    /// Applied in order, each to every piece the one before made.
    pre_tokenizers: Vec<PreTokenizer>,
    model: Bpe,
    /// Applied in order to the token strings, then concatenated; None: joined with spaces.
    decoders: Option<Vec<Decoder>>,
    /// The `tokenizer.json` it was read from, as written: what a reload keeps (lab::store).
    file: String,
}

/// A token of `added_tokens`, found in the raw text (or, when `normalized`, in the normalized
/// text, spelt as its normalized content).
#[derive(Clone, Debug, PartialEq)]
struct AddedToken {
    id: u32,
    /// As written in the file, for decoding.
    content: String,
    /// As matched: `content`, normalized if the token is.
    pattern: String,
    normalized: bool,
}

#[derive(Clone, Debug, PartialEq)]
enum Normalizer {
    /// Unicode canonical composition (Qwen, GPT-NeoX): "e" + U+0301 is "é".
    Nfc,
    /// Puts this before a non-empty piece.
    Prepend(String),
    Replace {
        from: String,
        to: String,
    },
}

/// When Metaspace puts its replacement before a piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prepend {
    Always,
    /// Only before the piece at the start of the text.
    First,
    Never,
}

#[derive(Clone, Debug, PartialEq)]
enum PreTokenizer {
    /// Bytes spelt as characters (`byte_level`), after an optional space and GPT-2's split.
    ByteLevel {
        add_prefix_space: bool,
        use_regex: bool,
    },
    /// The pattern's matches, each a piece.
    Split(SplitPattern),
    /// Spaces as `replacement`, the replacement put first per `prepend`, and with `split` a
    /// piece starting at each replacement.
    Metaspace {
        replacement: char,
        prepend: Prepend,
        split: bool,
    },
}

#[derive(Clone, Debug, PartialEq)]
enum Decoder {
    /// Characters back to the bytes they spell; one string of all tokens.
    ByteLevel,
    Replace {
        from: String,
        to: String,
    },
    /// Runs of `<0xNN>` tokens to the text of their bytes (U+FFFD per byte if not UTF-8).
    ByteFallback,
    /// All tokens as one.
    Fuse,
    /// Up to `start` leading and `stop` trailing `content` removed from each token.
    Strip {
        content: char,
        start: usize,
        stop: usize,
    },
    /// `replacement` back to spaces, none in the first token unless `prepend` is Never.
    Metaspace {
        replacement: char,
        prepend: Prepend,
    },
}

/// The BPE model: a vocabulary and merges by rank.
#[derive(Clone, Debug, PartialEq)]
struct Bpe {
    vocab: HashMap<String, u32>,
    /// The vocabulary by id, for decoding.
    tokens: HashMap<u32, String>,
    /// Each mergeable pair of ids: its rank (lower merges first) and the id it makes.
    merges: HashMap<(u32, u32), (u32, u32)>,
    /// The token for a character outside the vocabulary, if there is one (else it is dropped).
    unk: Option<u32>,
    /// Consecutive unknown characters as one unknown token.
    fuse_unk: bool,
    /// A character outside the vocabulary as its bytes' `<0xNN>` tokens.
    byte_fallback: bool,
    /// A piece that is a token of the vocabulary is that token, merges or not (LLaMA 3).
    ignore_merges: bool,
}

/// Text between added tokens, or an added token.
enum Piece<'a> {
    Text { text: &'a str, at_start: bool },
    Added(u32),
}

impl HfTokenizer {
    /// Reads a `tokenizer.json`; an error names the key at fault and why.
    pub fn from_json(json: &str) -> Result<Self, DataError> {
        file::read(json)
    }

    /// The `tokenizer.json` it was read from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// One more than the largest token id (vocabulary and added tokens).
    pub fn vocab_size(&self) -> usize {
        let model = self.model.tokens.keys().max();
        let added = self.added.iter().map(|a| &a.id).max();
        model
            .max(added)
            .map_or(0, |&id| (id as usize).saturating_add(1))
    }

    /// The token ids of `text`, without a BOS or other post-processing.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        for piece in split_added(text, true, self.added.iter().filter(|a| !a.normalized)) {
            let (raw, at_start) = match piece {
                Piece::Added(id) => {
                    ids.push(id);
                    continue;
                }
                Piece::Text { text, at_start } => (text, at_start),
            };
            let normalized = self.normalize(raw);
            let normalized_added = self.added.iter().filter(|a| a.normalized);
            for piece in split_added(&normalized, at_start, normalized_added) {
                match piece {
                    Piece::Added(id) => ids.push(id),
                    Piece::Text { text, at_start } => {
                        for word in self.pre_tokenize(text, at_start) {
                            self.model.encode_word(&word, &mut ids);
                        }
                    }
                }
            }
        }
        ids
    }

    /// The text of `ids`; an id outside the vocabulary is U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        let tokens: Vec<String> = ids
            .iter()
            .map(|&id| {
                let token = self.token(id).cloned();
                token.unwrap_or_else(|| char::REPLACEMENT_CHARACTER.to_string())
            })
            .collect();
        match &self.decoders {
            None => tokens.join(" "),
            Some(decoders) => decoders
                .iter()
                .fold(tokens, |tokens, decoder| decoder.decode(tokens))
                .concat(),
        }
    }

    /// A printable label of token `id` (as [`crate::train::tokenizer::Tokenizer::token_label`]):
    /// its bytes, a byte-level token's spelt back, a SentencePiece token's "▁" as a space and
    /// `<0xNN>` as the byte.
    pub fn token_label(&self, id: u32) -> String {
        let Some(token) = self.token(id) else {
            return char::REPLACEMENT_CHARACTER.to_string();
        };
        let byte_level = self
            .decoders
            .iter()
            .flatten()
            .any(|d| *d == Decoder::ByteLevel);
        let bytes = match (byte_level, byte_fallback_byte(token)) {
            (true, _) => byte_level_bytes(token),
            (false, Some(byte)) => vec![byte],
            (false, None) => token.replace('▁', " ").into_bytes(),
        };
        label_bytes(&bytes)
    }

    /// The string of token `id`: an added token's, else the vocabulary's.
    fn token(&self, id: u32) -> Option<&String> {
        (self.added.iter().find(|a| a.id == id).map(|a| &a.content))
            .or_else(|| self.model.tokens.get(&id))
    }

    fn normalize(&self, text: &str) -> String {
        let mut text = text.to_string();
        for normalizer in &self.normalizers {
            text = match normalizer {
                Normalizer::Nfc => text.nfc().collect(),
                Normalizer::Prepend(prefix) if !text.is_empty() => format!("{prefix}{text}"),
                Normalizer::Prepend(_) => text,
                Normalizer::Replace { from, to } => text.replace(from.as_str(), to),
            };
        }
        text
    }

    /// The pieces BPE runs on, each pre-tokenizer splitting what the one before made.
    fn pre_tokenize(&self, text: &str, at_start: bool) -> Vec<String> {
        let mut pieces = vec![(text.to_string(), at_start)];
        for pre in &self.pre_tokenizers {
            pieces = pieces
                .into_iter()
                .flat_map(|(piece, at_start)| {
                    let parts = pre.split(piece, at_start);
                    // Only the first part of a piece at the start is at the start.
                    let firsts = std::iter::once(at_start).chain(std::iter::repeat(false));
                    parts.into_iter().zip(firsts)
                })
                .filter(|(piece, _)| !piece.is_empty())
                .collect();
        }
        pieces.into_iter().map(|(piece, _)| piece).collect()
    }
}

/// `text` cut at the added tokens: at each position the longest token that starts there (as
/// the `tokenizers` crate's leftmost-longest search).
fn split_added<'a, 'b>(
    text: &'a str,
    at_start: bool,
    added: impl Iterator<Item = &'b AddedToken>,
) -> Vec<Piece<'a>> {
    let mut added: Vec<&AddedToken> = added.collect();
    added.sort_by_key(|a| std::cmp::Reverse(a.pattern.len()));
    let mut pieces = Vec::new();
    let (mut start, mut at) = (0, 0);
    while at < text.len() {
        let found = added.iter().find(|a| text[at..].starts_with(&a.pattern));
        match found {
            Some(token) => {
                if at > start {
                    pieces.push(Piece::Text {
                        text: &text[start..at],
                        at_start: at_start && start == 0,
                    });
                }
                pieces.push(Piece::Added(token.id));
                at += token.pattern.len();
                start = at;
            }
            None => at += text[at..].chars().next().map_or(1, char::len_utf8),
        }
    }
    if start < text.len() {
        pieces.push(Piece::Text {
            text: &text[start..],
            at_start: at_start && start == 0,
        });
    }
    pieces
}

impl PreTokenizer {
    fn split(&self, piece: String, at_start: bool) -> Vec<String> {
        match *self {
            Self::ByteLevel {
                add_prefix_space,
                use_regex,
            } => {
                let piece = match add_prefix_space && !piece.starts_with(' ') {
                    true => format!(" {piece}"),
                    false => piece,
                };
                let parts = match use_regex {
                    true => SplitPattern::Gpt2.split(&piece),
                    false => vec![piece.as_str()],
                };
                let spell =
                    |part: &str| -> String { part.bytes().map(byte_level::char_of).collect() };
                parts.into_iter().map(spell).collect()
            }
            Self::Split(pattern) => pattern
                .split(&piece)
                .into_iter()
                .map(String::from)
                .collect(),
            Self::Metaspace {
                replacement,
                prepend,
                split,
            } => {
                let mut text = piece.replace(' ', &replacement.to_string());
                let first = match prepend {
                    Prepend::Always => true,
                    Prepend::First => at_start,
                    Prepend::Never => false,
                };
                if first && !text.starts_with(replacement) {
                    text.insert(0, replacement);
                }
                match split {
                    true => starting_at(&text, replacement),
                    false => vec![text],
                }
            }
        }
    }
}

/// `text` cut before each `mark`: "▁a▁▁b" is "▁a", "▁", "▁b".
fn starting_at(text: &str, mark: char) -> Vec<String> {
    let mut parts: Vec<String> = Vec::new();
    for c in text.chars() {
        match parts.last_mut() {
            Some(part) if c != mark => part.push(c),
            _ => parts.push(c.to_string()),
        }
    }
    parts
}

/// The byte a `<0xNN>` token stands for.
fn byte_fallback_byte(token: &str) -> Option<u8> {
    let hex = token.strip_prefix("<0x")?.strip_suffix('>')?;
    (hex.len() == 2).then(|| u8::from_str_radix(hex, 16).ok())?
}

/// A byte-level token's bytes: each character's, or the token's own UTF-8 if a character
/// spells no byte (an added token).
fn byte_level_bytes(token: &str) -> Vec<u8> {
    token
        .chars()
        .map(byte_level::byte_of)
        .collect::<Option<Vec<u8>>>()
        .unwrap_or_else(|| token.as_bytes().to_vec())
}

impl Decoder {
    fn decode(&self, tokens: Vec<String>) -> Vec<String> {
        match self {
            Self::ByteLevel => {
                let bytes: Vec<u8> = tokens.iter().flat_map(|t| byte_level_bytes(t)).collect();
                vec![String::from_utf8_lossy(&bytes).into_owned()]
            }
            Self::Replace { from, to } => tokens
                .iter()
                .map(|t| t.replace(from.as_str(), to))
                .collect(),
            Self::ByteFallback => {
                let mut out = Vec::new();
                let mut bytes = Vec::new();
                let flush = |bytes: &mut Vec<u8>, out: &mut Vec<String>| match String::from_utf8(
                    std::mem::take(bytes),
                ) {
                    Ok(text) if !text.is_empty() => out.push(text),
                    Ok(_) => {}
                    Err(e) => out.extend(
                        e.as_bytes()
                            .iter()
                            .map(|_| char::REPLACEMENT_CHARACTER.to_string()),
                    ),
                };
                for token in tokens {
                    match byte_fallback_byte(&token) {
                        Some(byte) => bytes.push(byte),
                        None => {
                            flush(&mut bytes, &mut out);
                            out.push(token);
                        }
                    }
                }
                flush(&mut bytes, &mut out);
                out
            }
            Self::Fuse => vec![tokens.concat()],
            Self::Strip {
                content,
                start,
                stop,
            } => tokens
                .iter()
                .map(|token| {
                    let chars: Vec<char> = token.chars().collect();
                    let from = chars
                        .iter()
                        .take(*start)
                        .take_while(|&c| c == content)
                        .count();
                    let rest = &chars[from..];
                    let cut = rest
                        .iter()
                        .rev()
                        .take(*stop)
                        .take_while(|&c| c == content)
                        .count();
                    rest[..rest.len() - cut].iter().collect()
                })
                .collect(),
            Self::Metaspace {
                replacement,
                prepend,
            } => tokens
                .iter()
                .enumerate()
                .map(|(i, token)| {
                    // The first token's replacements were prepended: they go.
                    let drop = i == 0 && *prepend != Prepend::Never;
                    token
                        .chars()
                        .filter_map(|c| match (c == *replacement, drop) {
                            (true, true) => None,
                            (true, false) => Some(' '),
                            (false, _) => Some(c),
                        })
                        .collect()
                })
                .collect(),
        }
    }
}

impl Bpe {
    /// Appends the ids of one pre-tokenized piece.
    fn encode_word(&self, word: &str, ids: &mut Vec<u32>) {
        if self.ignore_merges {
            if let Some(&id) = self.vocab.get(word) {
                ids.push(id);
                return;
            }
        }
        let mut symbols = Vec::with_capacity(word.len());
        let mut unknown = None;
        for c in word.chars() {
            let mut utf8 = [0; 4];
            let c: &str = c.encode_utf8(&mut utf8);
            let fallback = || -> Option<Vec<u32>> {
                let byte = |b: &u8| self.vocab.get(&format!("<0x{b:02X}>")).copied();
                c.as_bytes().iter().map(byte).collect()
            };
            let known = match self.vocab.get(c) {
                Some(&id) => Some(vec![id]),
                None if self.byte_fallback => fallback(),
                None => None,
            };
            match (known, self.unk) {
                (Some(known), _) => {
                    symbols.extend(unknown.take());
                    symbols.extend(known);
                }
                (None, Some(unk)) => {
                    if !(self.fuse_unk && unknown.is_some()) {
                        symbols.extend(unknown.replace(unk));
                    }
                }
                // Without an unknown token the character is dropped, as `tokenizers` does.
                (None, None) => {}
            }
        }
        symbols.extend(unknown);
        apply_merges(&mut symbols, |pair| self.merges.get(&pair).copied());
        ids.extend(symbols);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_and_byte_fallback_decode_as_tokenizers_does() {
        let strip = Decoder::Strip {
            content: ' ',
            start: 1,
            stop: 1,
        };
        assert_eq!(strip.decode(vec!["  a  ".into()]), vec![" a "]);
        let tokens = ["<0xE4>", "<0xBD>", "<0xA0>", "x", "<0xE4>"].map(String::from);
        assert_eq!(
            Decoder::ByteFallback.decode(tokens.to_vec()),
            vec!["你", "x", "\u{FFFD}"]
        );
        assert_eq!(byte_fallback_byte("<0x0A>"), Some(10));
        assert_eq!(starting_at("a▁b▁▁c", '▁'), vec!["a", "▁b", "▁", "▁c"]);
        assert_eq!(byte_fallback_byte("<0x0A"), None);
    }
}
