//! Hugging Face tokenizers read by archlab against the `tokenizers` package itself: the
//! fixtures (tests/fixtures/tokenizers/, made by tools/make_tokenizer_fixtures.py) hold small
//! tokenizer.json files of each kind and, for a list of texts, the ids `tokenizers` encoded
//! them to (without special tokens added) and the text it decoded those ids to; plus random id
//! sequences and their decoded text. Every one must come out the same, exactly.

use archlab::train::hf_tokenizer::HfTokenizer;
use serde::Deserialize;

#[derive(Deserialize)]
struct Cases {
    encode: Vec<Encoded>,
    decode: Vec<Decoded>,
}

#[derive(Deserialize)]
struct Encoded {
    text: String,
    ids: Vec<u32>,
    decoded: String,
}

#[derive(Deserialize)]
struct Decoded {
    ids: Vec<u32>,
    decoded: String,
}

fn fixture(name: &str) -> (HfTokenizer, Cases) {
    let folder = format!(
        "{}/tests/fixtures/tokenizers/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let read = |file: &str| std::fs::read_to_string(format!("{folder}/{file}")).unwrap();
    let tokenizer = HfTokenizer::from_json(&read("tokenizer.json")).unwrap();
    let cases = serde_json::from_str(&read("cases.json")).unwrap();
    (tokenizer, cases)
}

fn assert_matches_tokenizers(name: &str) {
    let (tokenizer, cases) = fixture(name);
    assert!(cases.encode.len() > 10 && cases.decode.len() > 10);
    for case in &cases.encode {
        assert_eq!(
            tokenizer.encode(&case.text),
            case.ids,
            "{name}: {:?}",
            case.text
        );
        assert_eq!(
            tokenizer.decode(&case.ids),
            case.decoded,
            "{name}: {:?}",
            case.text
        );
    }
    for case in &cases.decode {
        assert_eq!(
            tokenizer.decode(&case.ids),
            case.decoded,
            "{name}: {:?}",
            case.ids
        );
    }
}

/// GPT-2: the ByteLevel pre-tokenizer's own regex.
#[test]
fn gpt2_byte_level_matches_tokenizers() {
    assert_matches_tokenizers("gpt2");
}

/// LLaMA 3: its split regex, then ByteLevel; ignore_merges.
#[test]
fn llama3_byte_level_matches_tokenizers() {
    assert_matches_tokenizers("llama3");
}

/// Qwen 2 and 3: NFC, its split regex (one digit a piece), then ByteLevel.
#[test]
fn qwen2_byte_level_matches_tokenizers() {
    assert_matches_tokenizers("qwen2");
}

/// LLaMA 2: Prepend and Replace normalizers, byte fallback, Replace/ByteFallback/Fuse/Strip.
#[test]
fn llama2_sentencepiece_matches_tokenizers() {
    assert_matches_tokenizers("llama2");
}

/// Mistral: the Metaspace pre-tokenizer (prepended to the text's first piece only) and decoder.
#[test]
fn mistral_metaspace_matches_tokenizers() {
    assert_matches_tokenizers("mistral");
}

#[test]
fn labels_show_what_a_token_stands_for() {
    let (gpt2, _) = fixture("gpt2");
    let the = gpt2.encode(" the");
    assert_eq!(the.len(), 1);
    assert_eq!(gpt2.token_label(the[0]), "␣the");
    assert_eq!(gpt2.token_label(0), "<|endoftext|>");
    let (llama2, _) = fixture("llama2");
    // "<0x0A>" (after <unk> <s> </s>) is the byte 10, a newline; "▁" a space.
    assert_eq!(llama2.token_label(3 + 10), "⏎");
    let json = std::fs::read_to_string(format!(
        "{}/tests/fixtures/tokenizers/llama2/tokenizer.json",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let vocab: serde_json::Value = serde_json::from_str(&json).unwrap();
    let id = vocab["model"]["vocab"]["▁t"].as_u64().unwrap() as u32;
    assert_eq!(llama2.token_label(id), "␣t");
    assert_eq!(llama2.token_label(100_000), "\u{FFFD}");
    assert_eq!(llama2.decode(&[100_000]), "\u{FFFD}");
}

/// What archlab does not run is refused by name, with the key it is under.
#[test]
fn unsupported_tokenizers_are_refused_by_name() {
    let read = |name: &str| {
        let path = format!(
            "{}/tests/fixtures/tokenizers/{name}/tokenizer.json",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::read_to_string(path).unwrap()
    };
    let (gpt2, llama3, llama2) = (read("gpt2"), read("llama3"), read("llama2"));
    let refusal = |json: String| HfTokenizer::from_json(&json).unwrap_err().to_string();
    for kind in ["WordPiece", "Unigram", "WordLevel"] {
        let json = gpt2.replace(r#""type":"BPE""#, &format!(r#""type":"{kind}""#));
        assert!(
            refusal(json).starts_with(&format!("model.type: \"{kind}\" is not supported")),
            "{kind}"
        );
    }
    let json = llama3.replace(r"\\p{N}{1,3}", r"\\p{N}{1,4}");
    assert!(refusal(json).starts_with("pre_tokenizer: the Split"));
    let json = gpt2.replace(r#""type":"ByteLevel","add"#, r#""type":"Whitespace","add"#);
    assert!(refusal(json).starts_with("pre_tokenizer: \"Whitespace\" is not supported"));
    let json = llama2.replace(r#""type":"Fuse""#, r#""type":"CTC""#);
    assert!(refusal(json).starts_with("decoder: \"CTC\" is not supported"));
    let json = llama2.replace(r#""type":"Prepend""#, r#""type":"NFKC""#);
    assert!(refusal(json).starts_with("normalizer: \"NFKC\" is not supported"));
    let json = gpt2.replace(r#""lstrip":false"#, r#""lstrip":true"#);
    assert!(refusal(json).starts_with("added_tokens: \"<|endoftext|>\" sets lstrip"));
    let json = gpt2.replace(r#"["Ġ","a"]"#, r#"["Ġ","ä"]"#);
    assert_eq!(
        refusal(json),
        "model.merges: merge 0 uses \"Ġä\", which is not in the vocabulary"
    );
}
