//! `tokenizer.json` read into the pipeline [`HfTokenizer`] runs. Every part is read or refused
//! with its key and the reason: a model other than BPE (WordPiece, Unigram, WordLevel), a
//! normalizer, pre-tokenizer or decoder archlab does not run, a split pattern it does not know,
//! merges of tokens missing from the vocabulary. Truncation, padding and the post-processor
//! (special tokens added around a sequence) play no part in encoding a prompt.

use std::collections::HashMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::{
    AddedToken, Bpe, Decoder, HfTokenizer, Normalizer, PreTokenizer, Prepend, SplitPattern,
};
use crate::train::data::DataError;

/// The models archlab runs, for the refusal of the others.
const SUPPORTED: &str = "archlab reads BPE tokenizers (byte-level: GPT-2, LLaMA 3, Qwen; \
                         SentencePiece-style: LLaMA 2, Mistral)";

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    added_tokens: Vec<AddedFile>,
    #[serde(default)]
    normalizer: Value,
    #[serde(default)]
    pre_tokenizer: Value,
    #[serde(default)]
    decoder: Value,
    model: Value,
}

#[derive(Deserialize)]
struct AddedFile {
    id: u32,
    content: String,
    #[serde(default)]
    single_word: bool,
    #[serde(default)]
    lstrip: bool,
    #[serde(default)]
    rstrip: bool,
    #[serde(default)]
    normalized: bool,
}

#[derive(Deserialize)]
struct BpeFile {
    vocab: HashMap<String, u32>,
    merges: Vec<Merge>,
    #[serde(default)]
    dropout: Option<f32>,
    #[serde(default)]
    unk_token: Option<String>,
    #[serde(default)]
    continuing_subword_prefix: Option<String>,
    #[serde(default)]
    end_of_word_suffix: Option<String>,
    #[serde(default)]
    fuse_unk: bool,
    #[serde(default)]
    byte_fallback: bool,
    #[serde(default)]
    ignore_merges: bool,
}

/// A merge as older files write it ("a b") or newer ones (["a", "b"]).
#[derive(Deserialize)]
#[serde(untagged)]
enum Merge {
    Pair(String, String),
    Joined(String),
}

/// A Replace's pattern: a plain string (a regex is refused).
#[derive(Deserialize)]
enum Pattern {
    String(String),
    Regex(String),
}

#[derive(Deserialize)]
struct ReplaceFile {
    pattern: Pattern,
    content: String,
}

#[derive(Deserialize)]
struct MetaspaceFile {
    replacement: char,
    /// Newer files; older ones have `add_prefix_space` (true: always).
    prepend_scheme: Option<String>,
    add_prefix_space: Option<bool>,
    #[serde(default = "yes")]
    split: bool,
}

fn yes() -> bool {
    true
}

fn refused(field: &'static str, reason: impl Into<String>) -> DataError {
    DataError::invalid(field, reason)
}

/// `value` as `T`, an error naming `field`.
fn parse<T: DeserializeOwned>(field: &'static str, value: &Value) -> Result<T, DataError> {
    T::deserialize(value).map_err(|e| refused(field, e.to_string()))
}

/// The `type` of a component.
fn kind<'a>(field: &'static str, value: &'a Value) -> Result<&'a str, DataError> {
    value
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| refused(field, "has no \"type\""))
}

/// A component that may be a `Sequence` (under `list`) of others, flattened, each read by
/// `one` (None: refused as unknown).
fn flattened<T>(
    field: &'static str,
    value: &Value,
    list: &str,
    one: &impl Fn(&str, &Value) -> Result<Option<T>, DataError>,
) -> Result<Vec<T>, DataError> {
    if value.is_null() {
        return Ok(Vec::new());
    }
    let kind = kind(field, value)?;
    if kind == "Sequence" {
        let parts = value
            .get(list)
            .and_then(Value::as_array)
            .ok_or_else(|| refused(field, format!("a Sequence without its \"{list}\"")))?;
        let mut all = Vec::new();
        for part in parts {
            all.extend(flattened(field, part, list, one)?);
        }
        return Ok(all);
    }
    match one(kind, value)? {
        Some(part) => Ok(vec![part]),
        None => Err(refused(
            field,
            format!("{kind:?} is not supported: {SUPPORTED}"),
        )),
    }
}

/// A Metaspace's prepend scheme, from either spelling.
fn prepend(field: &'static str, file: &MetaspaceFile) -> Result<Prepend, DataError> {
    match (file.prepend_scheme.as_deref(), file.add_prefix_space) {
        (Some("always"), _) | (None, Some(true) | None) => Ok(Prepend::Always),
        (Some("first"), _) => Ok(Prepend::First),
        (Some("never"), _) | (None, Some(false)) => Ok(Prepend::Never),
        (Some(other), _) => Err(refused(
            field,
            format!("Metaspace prepend_scheme {other:?} is not always, first or never"),
        )),
    }
}

fn replace(field: &'static str, value: &Value) -> Result<(String, String), DataError> {
    let file: ReplaceFile = parse(field, value)?;
    match file.pattern {
        Pattern::String(from) => Ok((from, file.content)),
        Pattern::Regex(regex) => Err(refused(
            field,
            format!("a Replace with the regex {regex:?} is not supported (plain strings are)"),
        )),
    }
}

fn normalizer(kind: &str, value: &Value) -> Result<Option<Normalizer>, DataError> {
    const FIELD: &str = "normalizer";
    Ok(match kind {
        "NFC" => Some(Normalizer::Nfc),
        "Prepend" => {
            let prepend = value.get("prepend").and_then(Value::as_str);
            let prepend = prepend.ok_or_else(|| refused(FIELD, "a Prepend without \"prepend\""))?;
            Some(Normalizer::Prepend(prepend.to_string()))
        }
        "Replace" => {
            let (from, to) = replace(FIELD, value)?;
            Some(Normalizer::Replace { from, to })
        }
        _ => None,
    })
}

fn pre_tokenizer(kind: &str, value: &Value) -> Result<Option<PreTokenizer>, DataError> {
    const FIELD: &str = "pre_tokenizer";
    let flag =
        |key: &str, default: bool| value.get(key).and_then(Value::as_bool).unwrap_or(default);
    Ok(match kind {
        "ByteLevel" => Some(PreTokenizer::ByteLevel {
            add_prefix_space: flag("add_prefix_space", true),
            use_regex: flag("use_regex", true),
        }),
        "Split" => {
            let regex = value.pointer("/pattern/Regex").and_then(Value::as_str);
            let behavior = value.get("behavior").and_then(Value::as_str);
            let pattern = regex.and_then(SplitPattern::of);
            match (pattern, behavior, flag("invert", false)) {
                (Some(pattern), Some("Isolated"), false) => Some(PreTokenizer::Split(pattern)),
                _ => {
                    return Err(refused(
                        FIELD,
                        format!(
                            "the Split {} is not one archlab runs: it runs GPT-2's, LLaMA 3's \
                             and Qwen 2's split patterns, isolated, not inverted",
                            value.get("pattern").unwrap_or(&Value::Null)
                        ),
                    ))
                }
            }
        }
        "Metaspace" => {
            let file: MetaspaceFile = parse(FIELD, value)?;
            Some(PreTokenizer::Metaspace {
                replacement: file.replacement,
                prepend: prepend(FIELD, &file)?,
                split: file.split,
            })
        }
        _ => None,
    })
}

fn decoder(kind: &str, value: &Value) -> Result<Option<Decoder>, DataError> {
    const FIELD: &str = "decoder";
    Ok(match kind {
        "ByteLevel" => Some(Decoder::ByteLevel),
        "Replace" => {
            let (from, to) = replace(FIELD, value)?;
            Some(Decoder::Replace { from, to })
        }
        "ByteFallback" => Some(Decoder::ByteFallback),
        "Fuse" => Some(Decoder::Fuse),
        "Strip" => {
            #[derive(Deserialize)]
            struct Strip {
                content: char,
                start: usize,
                stop: usize,
            }
            let strip: Strip = parse(FIELD, value)?;
            Some(Decoder::Strip {
                content: strip.content,
                start: strip.start,
                stop: strip.stop,
            })
        }
        "Metaspace" => {
            let file: MetaspaceFile = parse(FIELD, value)?;
            Some(Decoder::Metaspace {
                replacement: file.replacement,
                prepend: prepend(FIELD, &file)?,
            })
        }
        _ => None,
    })
}

/// The BPE model, its merges checked against the vocabulary.
fn model(value: &Value) -> Result<Bpe, DataError> {
    // Older files leave out the type of a BPE model.
    let kind = match value.get("type") {
        None if value.get("merges").is_some() => "BPE",
        _ => kind("model", value)?,
    };
    if kind != "BPE" {
        return Err(refused(
            "model.type",
            format!("{kind:?} is not supported: {SUPPORTED}"),
        ));
    }
    let file: BpeFile = parse("model", value)?;
    let unusual = [
        ("dropout", file.dropout.is_some_and(|p| p != 0.0)),
        (
            "continuing_subword_prefix",
            file.continuing_subword_prefix.is_some(),
        ),
        ("end_of_word_suffix", file.end_of_word_suffix.is_some()),
    ];
    if let Some((key, _)) = unusual.iter().find(|(_, set)| *set) {
        return Err(refused(
            "model",
            format!("{key} is set: the BPE models archlab reads have none"),
        ));
    }
    let id = |token: &str, i: usize| {
        file.vocab.get(token).copied().ok_or_else(|| {
            refused(
                "model.merges",
                format!("merge {i} uses {token:?}, which is not in the vocabulary"),
            )
        })
    };
    let mut merges = HashMap::with_capacity(file.merges.len());
    for (i, merge) in file.merges.iter().enumerate() {
        let (a, b) = match merge {
            Merge::Pair(a, b) => (a.as_str(), b.as_str()),
            Merge::Joined(joined) => joined.split_once(' ').ok_or_else(|| {
                refused(
                    "model.merges",
                    format!("merge {i} ({joined:?}) is not two tokens"),
                )
            })?,
        };
        let pair = (id(a, i)?, id(b, i)?);
        let made = id(&format!("{a}{b}"), i)?;
        // A pair listed twice keeps its first (lowest) rank, as `tokenizers` does.
        merges.entry(pair).or_insert((i as u32, made));
    }
    let unk = match &file.unk_token {
        Some(token) => Some(*file.vocab.get(token).ok_or_else(|| {
            refused(
                "model.unk_token",
                format!("{token:?} is not in the vocabulary"),
            )
        })?),
        None => None,
    };
    let tokens = file.vocab.iter().map(|(t, &id)| (id, t.clone())).collect();
    Ok(Bpe {
        vocab: file.vocab,
        tokens,
        merges,
        unk,
        fuse_unk: file.fuse_unk,
        byte_fallback: file.byte_fallback,
        ignore_merges: file.ignore_merges,
    })
}

pub(super) fn read(json: &str) -> Result<HfTokenizer, DataError> {
    let file: File = serde_json::from_str(json).map_err(|e| refused("json", e.to_string()))?;
    let model = model(&file.model)?;
    let normalizers = flattened("normalizer", &file.normalizer, "normalizers", &normalizer)?;
    let pre_tokenizers = flattened(
        "pre_tokenizer",
        &file.pre_tokenizer,
        "pretokenizers",
        &pre_tokenizer,
    )?;
    let decoders = match file.decoder.is_null() {
        true => None,
        false => Some(flattened("decoder", &file.decoder, "decoders", &decoder)?),
    };
    let mut tokenizer = HfTokenizer {
        added: Vec::new(),
        normalizers,
        pre_tokenizers,
        model,
        decoders,
        file: json.to_string(),
    };
    for added in file.added_tokens {
        let options = [
            ("single_word", added.single_word),
            ("lstrip", added.lstrip),
            ("rstrip", added.rstrip),
        ];
        if let Some((option, _)) = options.iter().find(|(_, set)| *set) {
            return Err(refused(
                "added_tokens",
                format!(
                    "{:?} sets {option}, which archlab does not run",
                    added.content
                ),
            ));
        }
        if added.content.is_empty() {
            return Err(refused(
                "added_tokens",
                format!("token {} is empty", added.id),
            ));
        }
        // A normalized token is found in normalized text, as its content normalizes.
        let pattern = match added.normalized {
            true => tokenizer.normalize(&added.content),
            false => added.content.clone(),
        };
        tokenizer.added.push(AddedToken {
            id: added.id,
            content: added.content,
            pattern,
            normalized: added.normalized,
        });
    }
    Ok(tokenizer)
}
