//! Tokenizers: characters, bytes, and a byte-level BPE trained on the corpus.
//!
//! The three sit on the lecture's vocabulary-size trade-off: characters give a tiny embedding table
//! and long sequences, BPE a larger table and shorter sequences (on the built-in corpus about 1.9
//! bytes per token at 512 tokens, 2.9 at 2048, 3.5 at 8192), bytes are the universal fallback.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use serde::{Deserialize, Serialize};

use super::data::DataError;

/// Number of byte tokens every byte-level vocabulary starts from.
pub const BYTE_VOCAB: usize = 256;
/// Largest BPE vocabulary accepted: at this project's model sizes a bigger embedding table costs
/// more parameters than the shorter sequences save, and the 1.1 MB corpus cannot fill it anyway.
pub const MAX_BPE_VOCAB: usize = 8192;

/// Which tokenizer to build, as the CLI and the page configure it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TokenizerKind {
    /// One token per distinct character of the training text.
    Char,
    /// One token per byte (256 tokens).
    Byte,
    /// Byte-level BPE trained on the text.
    Bpe {
        /// Total vocabulary: the 256 bytes plus `vocab_size - 256` learned merges.
        vocab_size: usize,
    },
}

impl TokenizerKind {
    /// Checks the parameters; only the BPE vocabulary size has any.
    pub fn validate(&self) -> Result<(), DataError> {
        if let Self::Bpe { vocab_size } = *self {
            if vocab_size <= BYTE_VOCAB {
                return Err(DataError::invalid(
                    "tokenizer.vocab_size",
                    format!(
                        "{vocab_size} leaves no room for merges: a byte-level BPE vocabulary holds \
                         the {BYTE_VOCAB} bytes plus at least one merge"
                    ),
                ));
            }
            if vocab_size > MAX_BPE_VOCAB {
                return Err(DataError::invalid(
                    "tokenizer.vocab_size",
                    format!(
                        "{vocab_size} exceeds the maximum of {MAX_BPE_VOCAB}: at this model scale \
                         the embedding table would outweigh the sequence-length saving"
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A trained tokenizer. Serialises to JSON with `to_json` / `from_json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Tokenizer {
    /// One token per character of a fixed alphabet.
    Char(CharVocab),
    /// Token id = byte value.
    Byte,
    /// Byte-level BPE.
    Bpe(Bpe),
}

/// The alphabet of a character tokenizer: token id = index in `chars`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "CharVocabFile")]
pub struct CharVocab {
    /// Distinct characters, sorted, so that the ids do not depend on where a character first
    /// appears and binary search finds them.
    chars: Vec<char>,
}

/// The JSON form of [`CharVocab`], checked before it becomes one.
#[derive(Deserialize)]
struct CharVocabFile {
    /// As in [`CharVocab`]; must be sorted and distinct.
    chars: Vec<char>,
}

impl TryFrom<CharVocabFile> for CharVocab {
    type Error = DataError;

    fn try_from(file: CharVocabFile) -> Result<Self, DataError> {
        if file.chars.is_empty() || file.chars.windows(2).any(|w| w[0] >= w[1]) {
            return Err(DataError::invalid(
                "tokenizer.chars",
                "must be a non-empty list of distinct characters in increasing order",
            ));
        }
        Ok(Self { chars: file.chars })
    }
}

impl CharVocab {
    /// The distinct characters of `text`.
    fn from_text(text: &str) -> Result<Self, DataError> {
        if text.is_empty() {
            return Err(DataError::invalid(
                "text",
                "is empty: a character tokenizer learns its alphabet from it",
            ));
        }
        // One pass with a table for ASCII, not a sort of every character: the page builds
        // the built-in corpus's 1.1 million on its thread before the first step.
        let mut ascii = [false; 128];
        let mut others = std::collections::BTreeSet::new();
        for ch in text.chars() {
            match ch.is_ascii() {
                true => ascii[ch as usize] = true,
                false => _ = others.insert(ch),
            }
        }
        let seen = (0u8..128).filter(|&b| ascii[b as usize]).map(char::from);
        let chars = seen.chain(others).collect();
        CharVocabFile { chars }.try_into()
    }

    /// Token ids of `text`, or the first character outside the alphabet with its position.
    fn encode(&self, text: &str) -> Result<Vec<u32>, DataError> {
        // ASCII ids from a table (most text), the rest by binary search.
        let mut ascii_ids = [None; 128];
        for (id, &ch) in self
            .chars
            .iter()
            .enumerate()
            .take_while(|(_, ch)| ch.is_ascii())
        {
            ascii_ids[ch as usize] = Some(id as u32);
        }
        text.chars()
            .enumerate()
            .map(|(position, ch)| {
                let id = match ch.is_ascii() {
                    true => ascii_ids[ch as usize],
                    false => self.chars.binary_search(&ch).ok().map(|id| id as u32),
                };
                id.ok_or(DataError::UnseenChar { ch, position })
            })
            .collect()
    }
}

/// Byte-level BPE: 256 byte tokens, then one token per learned merge.
///
/// Merges never cross the boundaries of the GPT-2 style pre-split of [`split_pieces`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "BpeFile", into = "BpeFile")]
pub struct Bpe {
    /// Learned merges in training order; merge `i` makes token `256 + i` from the pair.
    merges: Vec<(u32, u32)>,
    /// Bytes of every token, by id (derived from `merges`), for decoding and labels.
    pieces: Vec<Vec<u8>>,
    /// Merge index of every mergeable pair (derived from `merges`), for encoding.
    ranks: HashMap<(u32, u32), u32>,
}

/// The JSON form of [`Bpe`]: only the merges, everything else is derived from them.
#[derive(Serialize, Deserialize)]
struct BpeFile {
    /// As in [`Bpe`].
    merges: Vec<(u32, u32)>,
}

impl From<Bpe> for BpeFile {
    fn from(bpe: Bpe) -> Self {
        Self { merges: bpe.merges }
    }
}

impl TryFrom<BpeFile> for Bpe {
    type Error = DataError;

    fn try_from(file: BpeFile) -> Result<Self, DataError> {
        let mut bpe = Self::bytes_only();
        for (i, &(a, b)) in file.merges.iter().enumerate() {
            // A merge may only use tokens that exist before it.
            let next = (BYTE_VOCAB + i) as u32;
            if a >= next || b >= next {
                return Err(DataError::invalid(
                    "tokenizer.merges",
                    format!("merge {i} ({a}, {b}) uses a token not defined before it"),
                ));
            }
            bpe.push_merge((a, b));
        }
        TokenizerKind::Bpe {
            vocab_size: bpe.vocab_size(),
        }
        .validate()?;
        Ok(bpe)
    }
}

impl Bpe {
    /// The 256 byte tokens and no merge yet: where training and loading start.
    fn bytes_only() -> Self {
        Self {
            merges: Vec::new(),
            pieces: (0..=u8::MAX).map(|b| vec![b]).collect(),
            ranks: HashMap::new(),
        }
    }

    /// Appends one merge and its derived entries.
    fn push_merge(&mut self, pair: (u32, u32)) {
        let id = self.pieces.len() as u32;
        let mut piece = self.pieces[pair.0 as usize].clone();
        piece.extend_from_slice(&self.pieces[pair.1 as usize]);
        self.pieces.push(piece);
        self.ranks.insert(pair, id - BYTE_VOCAB as u32);
        self.merges.push(pair);
    }

    /// Learns up to `vocab_size - 256` merges from `text`, greedily: each step merges the most
    /// frequent adjacent pair, ties going to the smallest `(left id, right id)`. Stops early, with a
    /// smaller vocabulary, only if no pair is left (a text too small for the request).
    ///
    /// Pair counts are updated incrementally: a merge only revisits the distinct pieces that
    /// contain the merged pair, and a max-heap with lazily discarded stale entries finds the next
    /// pair: training on the full corpus takes about 50 ms in release mode, at any allowed size.
    pub fn train(text: &str, vocab_size: usize) -> Result<Self, DataError> {
        TokenizerKind::Bpe { vocab_size }.validate()?;
        let mut piece_counts: HashMap<&str, i64> = HashMap::new();
        for piece in split_pieces(text) {
            *piece_counts.entry(piece).or_default() += 1;
        }
        // Sorted so that the work order, not only the result, is the same on every run.
        let mut distinct: Vec<(&str, i64)> = piece_counts.into_iter().collect();
        distinct.sort_unstable();
        let freq: Vec<i64> = distinct.iter().map(|&(_, n)| n).collect();
        let mut words: Vec<Vec<u32>> = distinct
            .iter()
            .map(|(p, _)| p.bytes().map(u32::from).collect())
            .collect();

        // Occurrences of each pair, weighted by piece frequency.
        let mut pair_count: HashMap<(u32, u32), i64> = HashMap::new();
        // Pieces that may contain each pair (a superset: entries go stale after merges).
        let mut pair_words: HashMap<(u32, u32), Vec<usize>> = HashMap::new();
        for (w, word) in words.iter().enumerate() {
            for pair in word.windows(2).map(|p| (p[0], p[1])) {
                *pair_count.entry(pair).or_default() += freq[w];
                pair_words.entry(pair).or_default().push(w);
            }
        }
        let mut heap: BinaryHeap<(i64, Reverse<(u32, u32)>)> =
            pair_count.iter().map(|(&p, &n)| (n, Reverse(p))).collect();

        let mut bpe = Self::bytes_only();
        while bpe.vocab_size() < vocab_size {
            let Some((count, Reverse(pair))) = heap.pop() else {
                break;
            };
            if count <= 0 || pair_count.get(&pair) != Some(&count) {
                continue; // stale entry: the pair's count changed after it was pushed
            }
            let id = bpe.vocab_size() as u32;
            bpe.push_merge(pair);
            let mut delta: HashMap<(u32, u32), i64> = HashMap::new();
            for w in pair_words.remove(&pair).unwrap_or_default() {
                let word = &mut words[w];
                if !word.windows(2).any(|p| (p[0], p[1]) == pair) {
                    continue; // already merged through a duplicate entry
                }
                for p in word.windows(2) {
                    *delta.entry((p[0], p[1])).or_default() -= freq[w];
                }
                merge_pair(word, pair, id);
                for p in word.windows(2) {
                    *delta.entry((p[0], p[1])).or_default() += freq[w];
                    // Only pairs with the new token are new to this piece.
                    if p[0] == id || p[1] == id {
                        pair_words.entry((p[0], p[1])).or_default().push(w);
                    }
                }
            }
            for (p, d) in delta {
                if d != 0 {
                    let n = pair_count.entry(p).or_default();
                    *n += d;
                    heap.push((*n, Reverse(p)));
                }
            }
        }
        Ok(bpe)
    }

    /// Tokens (256 bytes + merges).
    pub fn vocab_size(&self) -> usize {
        self.pieces.len()
    }

    /// The merges in training order, each making token `256 + index`.
    pub fn merges(&self) -> &[(u32, u32)] {
        &self.merges
    }

    /// Encodes one pre-split piece by applying merges lowest rank first, which reproduces the
    /// segmentation training gave it.
    fn encode_piece(&self, piece: &str) -> Vec<u32> {
        let mut syms: Vec<u32> = piece.bytes().map(u32::from).collect();
        apply_merges(&mut syms, |pair| {
            let rank = *self.ranks.get(&pair)?;
            Some((rank, BYTE_VOCAB as u32 + rank))
        });
        syms
    }

    /// Encodes a text; pieces repeat a lot, so each distinct piece is encoded once.
    fn encode(&self, text: &str) -> Vec<u32> {
        let mut cache: HashMap<&str, Vec<u32>> = HashMap::new();
        let mut out = Vec::with_capacity(text.len() / 2);
        for piece in split_pieces(text) {
            out.extend_from_slice(
                cache
                    .entry(piece)
                    .or_insert_with(|| self.encode_piece(piece)),
            );
        }
        out
    }
}

/// Merges `syms` by rank: while some adjacent pair has a merge (`merge` gives its rank and the
/// id it makes), every occurrence of the lowest-ranked one, left to right. BPE encoding, for
/// our tokenizer and Hugging Face's.
pub(crate) fn apply_merges(syms: &mut Vec<u32>, merge: impl Fn((u32, u32)) -> Option<(u32, u32)>) {
    while let Some((_, pair, id)) = syms
        .windows(2)
        .filter_map(|p| merge((p[0], p[1])).map(|(rank, id)| (rank, (p[0], p[1]), id)))
        .min()
    {
        merge_pair(syms, pair, id);
    }
}

/// Replaces every non-overlapping occurrence of `pair`, left to right, with `id`.
fn merge_pair(syms: &mut Vec<u32>, pair: (u32, u32), id: u32) {
    let (mut read, mut write) = (0, 0);
    while read < syms.len() {
        if read + 1 < syms.len() && (syms[read], syms[read + 1]) == pair {
            syms[write] = id;
            read += 2;
        } else {
            syms[write] = syms[read];
            read += 1;
        }
        write += 1;
    }
    syms.truncate(write);
}

/// Character classes of the pre-split.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Letter,
    Digit,
    Space,
    Other,
}

fn class(c: char) -> Class {
    if c.is_alphabetic() {
        Class::Letter
    } else if c.is_numeric() {
        Class::Digit
    } else if c.is_whitespace() {
        Class::Space
    } else {
        Class::Other
    }
}

/// Splits text into the pieces BPE merges stay inside, like GPT-2's pre-tokenizer without its
/// contraction rules: a run of letters, of digits or of other symbols, each with at most one
/// leading space; or a run of whitespace, whose last space goes to the word that follows it.
/// Concatenating the pieces gives the text back.
pub fn split_pieces(text: &str) -> Vec<&str> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let byte_at = |i: usize| chars.get(i).map_or(text.len(), |&(b, _)| b);
    let mut pieces = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let next_is_word = chars
            .get(start + 1)
            .is_some_and(|&(_, c)| class(c) != Class::Space);
        // A single space before a word belongs to the word.
        let body = if chars[start].1 == ' ' && next_is_word {
            start + 1
        } else {
            start
        };
        let cls = class(chars[body].1);
        let mut end = body + 1;
        while end < chars.len() && class(chars[end].1) == cls {
            end += 1;
        }
        if cls == Class::Space && end < chars.len() && end - body > 1 && chars[end - 1].1 == ' ' {
            end -= 1; // leave the last space to the next word
        }
        pieces.push(&text[byte_at(start)..byte_at(end)]);
        start = end;
    }
    pieces
}

/// Checks that raw bytes are UTF-8, for the tokenizers that work on characters.
pub fn utf8(bytes: &[u8]) -> Result<&str, DataError> {
    std::str::from_utf8(bytes).map_err(|e| DataError::NotUtf8 {
        offset: e.valid_up_to(),
    })
}

/// A token's bytes as a printable, one-line label (see [`Tokenizer::token_label`]).
pub(crate) fn label_bytes(bytes: &[u8]) -> String {
    let mut label = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\n' => label.push('⏎'),
                ' ' => label.push('␣'),
                '\t' => label.push('⇥'),
                c if c.is_control() => label.push_str(&format!("\\u{{{:x}}}", c as u32)),
                c => label.push(c),
            }
        }
        for b in chunk.invalid() {
            label.push_str(&format!("<{b:02X}>"));
        }
    }
    label
}

impl Tokenizer {
    /// Builds the tokenizer `kind` from a training text (the alphabet for `Char`, the merges for
    /// `Bpe`; `Byte` needs nothing from it).
    pub fn train(kind: TokenizerKind, text: &str) -> Result<Self, DataError> {
        kind.validate()?;
        Ok(match kind {
            TokenizerKind::Char => Self::Char(CharVocab::from_text(text)?),
            TokenizerKind::Byte => Self::Byte,
            TokenizerKind::Bpe { vocab_size } => Self::Bpe(Bpe::train(text, vocab_size)?),
        })
    }

    /// The configuration this tokenizer was built from (with the BPE size it actually reached).
    pub fn kind(&self) -> TokenizerKind {
        match self {
            Self::Char(_) => TokenizerKind::Char,
            Self::Byte => TokenizerKind::Byte,
            Self::Bpe(bpe) => TokenizerKind::Bpe {
                vocab_size: bpe.vocab_size(),
            },
        }
    }

    /// Number of token ids; every id `encode` returns is below it.
    pub fn vocab_size(&self) -> usize {
        match self {
            Self::Char(v) => v.chars.len(),
            Self::Byte => BYTE_VOCAB,
            Self::Bpe(bpe) => bpe.vocab_size(),
        }
    }

    /// Token ids of `text`; a character outside a `Char` alphabet is an error.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, DataError> {
        match self {
            Self::Char(v) => v.encode(text),
            Self::Byte => Ok(text.bytes().map(u32::from).collect()),
            Self::Bpe(bpe) => Ok(bpe.encode(text)),
        }
    }

    /// The bytes token `id` stands for; `None` for an id outside the vocabulary.
    fn token_bytes(&self, id: u32) -> Option<Vec<u8>> {
        match self {
            Self::Char(v) => v.chars.get(id as usize).map(|c| c.to_string().into_bytes()),
            Self::Byte => u8::try_from(id).ok().map(|b| vec![b]),
            Self::Bpe(bpe) => bpe.pieces.get(id as usize).cloned(),
        }
    }

    /// How many characters (Unicode scalar values) each token adds to a text, by id: the bytes
    /// of the token that begin a UTF-8 character. A character split across tokens counts once,
    /// in the token holding its first byte, so over the tokens of any UTF-8 text the counts add
    /// up to the text's characters exactly (decoding one such token alone would count U+FFFD).
    pub fn chars_per_token(&self) -> Vec<u32> {
        let starts_a_char = |b: &u8| b & 0xC0 != 0x80;
        (0..self.vocab_size() as u32)
            .map(|id| {
                let bytes = self.token_bytes(id).expect("ids below the vocabulary size");
                bytes.iter().filter(|b| starts_a_char(b)).count() as u32
            })
            .collect()
    }

    /// The text of `ids`. Lossy: byte sequences that are not UTF-8 (a model can emit them with
    /// `Byte` or `Bpe`) and ids outside the vocabulary become U+FFFD, because generated samples
    /// must always be displayable.
    pub fn decode(&self, ids: &[u32]) -> String {
        let mut bytes = Vec::with_capacity(ids.len());
        for &id in ids {
            match self.token_bytes(id) {
                Some(b) => bytes.extend_from_slice(&b),
                None => bytes.extend_from_slice(char::REPLACEMENT_CHARACTER.to_string().as_bytes()),
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// A printable, one-line label of token `id` for attention-map axes: `⏎` for a newline, `␣`
    /// for a space, `⇥` for a tab, `\u{..}` for other control characters, `<E2>` for each byte
    /// that is not part of a whole UTF-8 character, `�` for an id outside the vocabulary.
    pub fn token_label(&self, id: u32) -> String {
        match self.token_bytes(id) {
            Some(bytes) => label_bytes(&bytes),
            None => char::REPLACEMENT_CHARACTER.to_string(),
        }
    }

    /// The tokenizer as JSON, to save beside a checkpoint.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a tokenizer always serialises")
    }

    /// Loads a tokenizer saved by [`Tokenizer::to_json`], checking it.
    pub fn from_json(json: &str) -> Result<Self, DataError> {
        serde_json::from_str(json).map_err(|e| DataError::invalid("tokenizer", e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::corpus::builtin_corpus;

    /// A slice of the corpus for the slower debug-mode BPE tests (cut on a char boundary: the
    /// corpus is ASCII).
    fn corpus_slice() -> &'static str {
        &builtin_corpus().unwrap()[..200_000]
    }

    fn bpe(text: &str, vocab_size: usize) -> Tokenizer {
        Tokenizer::train(TokenizerKind::Bpe { vocab_size }, text).unwrap()
    }

    #[test]
    fn char_round_trips_the_corpus_with_its_65_characters() {
        let text = builtin_corpus().unwrap();
        let tok = Tokenizer::train(TokenizerKind::Char, text).unwrap();
        // data/README.md: 65 distinct characters.
        assert_eq!(tok.vocab_size(), 65);
        let ids = tok.encode(text).unwrap();
        assert_eq!(ids.len(), text.chars().count());
        assert_eq!(tok.decode(&ids), text);
    }

    #[test]
    fn characters_per_token_add_up_to_the_texts_characters() {
        // Multi-byte characters (2, 3 and 4 bytes) that byte and BPE tokens split.
        let text = "naïve café — ½ 🦀 crabs; naïve café — ½ 🦀 crabs again. ".repeat(20);
        for kind in [
            TokenizerKind::Char,
            TokenizerKind::Byte,
            TokenizerKind::Bpe { vocab_size: 300 },
        ] {
            let tok = Tokenizer::train(kind, &text).unwrap();
            let table = tok.chars_per_token();
            assert_eq!(table.len(), tok.vocab_size());
            let ids = tok.encode(&text).unwrap();
            let chars: u32 = ids.iter().map(|&id| table[id as usize]).sum();
            assert_eq!(chars as usize, text.chars().count(), "{kind:?}");
        }
        // A character tokenizer: one character per token.
        let tok = Tokenizer::train(TokenizerKind::Char, &text).unwrap();
        assert!(tok.chars_per_token().iter().all(|&c| c == 1));
    }

    #[test]
    fn char_ids_follow_sorted_order() {
        let tok = Tokenizer::train(TokenizerKind::Char, "cabbage").unwrap();
        // Alphabet a b c e g.
        assert_eq!(tok.encode("gabe").unwrap(), vec![4, 0, 1, 3]);
        // Past ASCII too, in code point order (ASCII by table, the rest by search).
        let tok = Tokenizer::train(TokenizerKind::Char, "日é cab").unwrap();
        // Alphabet ' ' a b c é 日.
        assert_eq!(tok.encode("é日 a").unwrap(), vec![4, 5, 0, 1]);
        let unseen = DataError::UnseenChar {
            ch: 'ü',
            position: 1,
        };
        assert_eq!(tok.encode("aü").unwrap_err(), unseen);
        assert_eq!(
            tok.encode("cd").unwrap_err().to_string(),
            "text: character 'd' at position 1 is not in the character tokenizer's vocabulary"
        );
    }

    #[test]
    fn byte_round_trips_the_corpus() {
        let text = builtin_corpus().unwrap();
        let tok = Tokenizer::train(TokenizerKind::Byte, text).unwrap();
        assert_eq!(tok.vocab_size(), 256);
        let ids = tok.encode(text).unwrap();
        assert_eq!(ids.len(), 1_115_394);
        assert_eq!(tok.decode(&ids), text);
        assert_eq!(tok.encode("é").unwrap(), vec![0xC3, 0xA9]);
    }

    #[test]
    fn bpe_round_trips_the_corpus_and_other_text() {
        let text = builtin_corpus().unwrap();
        let tok = bpe(text, 600);
        let ids = tok.encode(text).unwrap();
        assert!(ids.iter().all(|&id| id < 600));
        assert!(
            ids.len() < text.len() / 2,
            "600 tokens compress English over 2x"
        );
        assert_eq!(tok.decode(&ids), text);
        // Text the merges were not trained on, with non-ASCII characters, still round-trips.
        let other = "Ünïcödé 42\t tabs  and  spaces\r\n→ done";
        assert_eq!(tok.decode(&tok.encode(other).unwrap()), other);
    }

    #[test]
    fn bpe_learns_the_hand_computed_merges() {
        // "aaabdaaabac" (a=97 b=98 c=99 d=100), one piece. Pair counts, overlaps counted:
        // aa 4, ab 2, bd da ba ac 1 -> merge (a,a) = 256: [256 a b d 256 a b a c].
        // (256,a) 2 and (a,b) 2 tie: the smaller pair (97,98) wins -> 257: [256 257 d 256 257 a c].
        // (256,257) 2 -> 258: [258 d 258 a c]. All pairs now 1: smallest (97,99) -> 259,
        // then of (258,100) (100,258) (258,259) the smallest (100,258) -> 260.
        let Tokenizer::Bpe(b) = bpe("aaabdaaabac", 261) else {
            unreachable!()
        };
        assert_eq!(
            b.merges(),
            &[(97, 97), (97, 98), (256, 257), (97, 99), (100, 258)]
        );
        let tok = bpe("aaabdaaabac", 259);
        assert_eq!(
            tok.encode("aaabdaaabac").unwrap(),
            vec![258, 100, 258, 97, 99]
        );
        assert_eq!(tok.decode(&[258]), "aaab");
    }

    #[test]
    fn bpe_merges_stay_inside_pieces_and_stop_when_no_pair_is_left() {
        // Pieces "ab", " ab", " ab": (a,b) 3 -> 256; then (' ',256) 2 -> 257; nothing else.
        // The pair (b,' ') across pieces must never be counted.
        let Tokenizer::Bpe(b) = bpe("ab ab ab", 300) else {
            unreachable!()
        };
        assert_eq!(b.merges(), &[(97, 98), (32, 256)]);
        assert_eq!(b.vocab_size(), 258);
    }

    #[test]
    fn split_pieces_follows_the_gpt2_rules() {
        assert_eq!(
            split_pieces("Hello  world!\n\nok 42, x"),
            vec!["Hello", " ", " world", "!", "\n\n", "ok", " 42", ",", " x"]
        );
        assert_eq!(split_pieces("\n a"), vec!["\n", " a"]);
        assert_eq!(split_pieces("a "), vec!["a", " "]);
    }

    #[test]
    fn bpe_reaches_the_requested_size_and_is_deterministic() {
        for vocab_size in [300, 1000] {
            let a = bpe(corpus_slice(), vocab_size);
            assert_eq!(a.vocab_size(), vocab_size);
            assert_eq!(a.kind(), TokenizerKind::Bpe { vocab_size });
            let b = bpe(corpus_slice(), vocab_size);
            assert_eq!(a, b);
            assert_eq!(a.to_json(), b.to_json());
        }
    }

    #[test]
    fn bpe_common_english_merges_appear() {
        let tok = bpe(corpus_slice(), 400);
        let labels: Vec<String> = (256..400).map(|id| tok.token_label(id)).collect();
        for word in ["␣the", "␣and", "⏎⏎"] {
            assert!(
                labels.iter().any(|l| l == word),
                "{word} missing from {labels:?}"
            );
        }
    }

    #[test]
    fn json_round_trips_every_tokenizer() {
        for tok in [
            Tokenizer::train(TokenizerKind::Char, "hello").unwrap(),
            Tokenizer::Byte,
            bpe("aaabdaaabac", 261),
        ] {
            assert_eq!(Tokenizer::from_json(&tok.to_json()).unwrap(), tok);
        }
        assert_eq!(
            Tokenizer::from_json(r#"{"kind":"char","chars":["a","b"]}"#)
                .unwrap()
                .encode("ba")
                .unwrap(),
            vec![1, 0]
        );
    }

    #[test]
    fn json_with_inconsistent_contents_is_refused() {
        // Merge 0 (token 256) may not use token 256 itself.
        let err = Tokenizer::from_json(r#"{"kind":"bpe","merges":[[97,256]]}"#).unwrap_err();
        assert!(err.to_string().contains("tokenizer.merges"), "{err}");
        let err = Tokenizer::from_json(r#"{"kind":"char","chars":["b","a"]}"#).unwrap_err();
        assert!(err.to_string().contains("increasing order"), "{err}");
        let err = Tokenizer::from_json(r#"{"kind":"bpe","merges":[]}"#).unwrap_err();
        assert!(err.to_string().contains("no room for merges"), "{err}");
    }

    #[test]
    fn unseen_char_is_an_error_naming_it() {
        let tok = Tokenizer::train(TokenizerKind::Char, "abc").unwrap();
        let err = tok.encode("abd").unwrap_err();
        assert_eq!(
            err,
            DataError::UnseenChar {
                ch: 'd',
                position: 2
            }
        );
        assert_eq!(
            err.to_string(),
            "text: character 'd' at position 2 is not in the character tokenizer's vocabulary"
        );
    }

    #[test]
    fn non_utf8_bytes_are_refused_where_characters_are_needed() {
        let err = utf8(b"ab\xffcd").unwrap_err();
        assert_eq!(err, DataError::NotUtf8 { offset: 2 });
        assert_eq!(err.to_string(), "text: not valid UTF-8 from byte 2 on");
        assert_eq!(utf8(b"abcd"), Ok("abcd"));
    }

    #[test]
    fn decode_is_lossy_for_invalid_bytes_and_unknown_ids() {
        assert_eq!(Tokenizer::Byte.decode(&[104, 0xFF, 105]), "h\u{FFFD}i");
        assert_eq!(Tokenizer::Byte.decode(&[300]), "\u{FFFD}");
        let tok = Tokenizer::train(TokenizerKind::Char, "ab").unwrap();
        assert_eq!(tok.decode(&[1, 7, 0]), "b\u{FFFD}a");
    }

    #[test]
    fn token_labels_are_printable() {
        let byte = Tokenizer::Byte;
        assert_eq!(byte.token_label(10), "⏎");
        assert_eq!(byte.token_label(32), "␣");
        assert_eq!(byte.token_label(9), "⇥");
        assert_eq!(byte.token_label(0), "\\u{0}");
        assert_eq!(byte.token_label(0xE2), "<E2>");
        assert_eq!(byte.token_label(b'Q'.into()), "Q");
        assert_eq!(byte.token_label(256), "\u{FFFD}");
        let tok = bpe("ab ab ab", 258);
        assert_eq!(tok.token_label(257), "␣ab");
        let chars = Tokenizer::train(TokenizerKind::Char, "\nx").unwrap();
        assert_eq!(chars.token_label(0), "⏎");
    }

    #[test]
    fn bpe_size_limits_are_explained() {
        assert!(TokenizerKind::Bpe { vocab_size: 257 }.validate().is_ok());
        assert!(TokenizerKind::Bpe { vocab_size: 8192 }.validate().is_ok());
        assert_eq!(
            TokenizerKind::Bpe { vocab_size: 256 }
                .validate()
                .unwrap_err()
                .to_string(),
            "tokenizer.vocab_size: 256 leaves no room for merges: a byte-level BPE vocabulary \
             holds the 256 bytes plus at least one merge"
        );
        let err = TokenizerKind::Bpe { vocab_size: 8193 }
            .validate()
            .unwrap_err();
        assert!(err
            .to_string()
            .starts_with("tokenizer.vocab_size: 8193 exceeds the maximum of 8192"));
        assert!(Tokenizer::train(TokenizerKind::Bpe { vocab_size: 100 }, "abc").is_err());
        assert_eq!(
            Tokenizer::train(TokenizerKind::Char, "")
                .unwrap_err()
                .to_string(),
            "text: is empty: a character tokenizer learns its alphabet from it"
        );
    }
}
