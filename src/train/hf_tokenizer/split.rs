//! The regular expressions Hugging Face tokenizers split text with before BPE, written out by
//! hand (a regex engine with look-ahead and Unicode classes would weigh more in the page's
//! wasm than this file). Each function returns the pattern's matches in order; the patterns
//! match every character, so the pieces concatenate to the text.
//!
//! Classes: `\p{L}` is `letter` (Rust's Alphabetic property less numbers: it also counts the
//! combining vowel signs some scripts mark as alphabetic, which the regex's letters do not),
//! `\p{N}` is `char::is_numeric`, `\s` is `char::is_whitespace` (Unicode White_Space, as the
//! regex's).

/// The split patterns archlab knows, by the models that use them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitPattern {
    /// GPT-2's, also the ByteLevel pre-tokenizer's own (`use_regex`).
    Gpt2,
    /// LLaMA 3's: case-insensitive contractions, a letter run with one leading non-letter,
    /// numbers in runs of up to 3 digits, newlines kept with the symbols before them.
    Llama3,
    /// Qwen 2's: LLaMA 3's with one digit per piece.
    Qwen2,
}

/// GPT-2's pattern as tokenizer.json spells it.
pub const GPT2: &str =
    r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+";
/// LLaMA 3's pattern.
pub const LLAMA3: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";
/// Qwen 2's pattern.
pub const QWEN2: &str = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+";

impl SplitPattern {
    /// The pattern a tokenizer.json `Split` names, if it is one of ours.
    pub fn of(regex: &str) -> Option<Self> {
        [
            (GPT2, Self::Gpt2),
            (LLAMA3, Self::Llama3),
            (QWEN2, Self::Qwen2),
        ]
        .into_iter()
        .find(|(pattern, _)| *pattern == regex)
        .map(|(_, split)| split)
    }

    /// The pattern's matches in `text`, in order.
    pub fn split(self, text: &str) -> Vec<&str> {
        let chars: Vec<char> = text.chars().collect();
        let byte_at: Vec<usize> = text
            .char_indices()
            .map(|(b, _)| b)
            .chain([text.len()])
            .collect();
        let mut pieces = Vec::new();
        let mut start = 0;
        while start < chars.len() {
            let end = match self {
                Self::Gpt2 => gpt2_match(&chars, start),
                Self::Llama3 => llama3_match(&chars, start, 3),
                Self::Qwen2 => llama3_match(&chars, start, 1),
            };
            pieces.push(&text[byte_at[start]..byte_at[end]]);
            start = end;
        }
        pieces
    }
}

fn letter(c: char) -> bool {
    c.is_alphabetic() && !c.is_numeric()
}

fn number(c: char) -> bool {
    c.is_numeric()
}

fn space(c: char) -> bool {
    c.is_whitespace()
}

fn newline(c: char) -> bool {
    c == '\r' || c == '\n'
}

/// `[^\s\p{L}\p{N}]`: a symbol.
fn symbol(c: char) -> bool {
    !space(c) && !letter(c) && !number(c)
}

/// The end of the run of `class` from `at` (`at` itself if none).
fn run(chars: &[char], at: usize, class: impl Fn(char) -> bool) -> usize {
    at + chars[at..].iter().take_while(|&&c| class(c)).count()
}

/// The end of `'s|'t|'re|'ve|'m|'ll|'d` at `at`, compared with `same` (exact or ignoring case).
fn contraction(chars: &[char], at: usize, ignore_case: bool) -> Option<usize> {
    if chars[at] != '\'' {
        return None;
    }
    let same = |i: usize, want: char| {
        chars.get(i).is_some_and(|&c| match ignore_case {
            true => c.to_lowercase().eq(want.to_lowercase()),
            false => c == want,
        })
    };
    ["s", "t", "re", "ve", "m", "ll", "d"]
        .iter()
        .find(|suffix| suffix.chars().enumerate().all(|(i, c)| same(at + 1 + i, c)))
        .map(|suffix| at + 1 + suffix.len())
}

/// `\s+(?!\S)|\s+` at `at` (a space run): the run, less its last space when a non-space
/// follows and the run is longer than one.
fn space_run(chars: &[char], at: usize) -> usize {
    let end = run(chars, at, space);
    match end < chars.len() && end - at > 1 {
        true => end - 1,
        false => end,
    }
}

/// The end of GPT-2's match at `at`.
fn gpt2_match(chars: &[char], at: usize) -> usize {
    if let Some(end) = contraction(chars, at, false) {
        return end;
    }
    // ` ?\p{L}+`, ` ?\p{N}+`, ` ?[^\s\p{L}\p{N}]+`, in that order.
    let body = match chars[at] == ' ' && at + 1 < chars.len() {
        true => at + 1,
        false => at,
    };
    for class in [letter, number, symbol] {
        let end = run(chars, body, class);
        if end > body {
            return end;
        }
    }
    space_run(chars, at)
}

/// The end of LLaMA 3's match at `at` (Qwen 2's with `digits` 1).
fn llama3_match(chars: &[char], at: usize, digits: usize) -> usize {
    if let Some(end) = contraction(chars, at, true) {
        return end;
    }
    // `[^\r\n\p{L}\p{N}]?\p{L}+`
    let lead = !newline(chars[at]) && !letter(chars[at]) && !number(chars[at]);
    let body = match lead {
        true => at + 1,
        false => at,
    };
    if body < chars.len() && letter(chars[body]) {
        return run(chars, body, letter);
    }
    // `\p{N}{1,digits}`
    if number(chars[at]) {
        return at
            + chars[at..]
                .iter()
                .take(digits)
                .take_while(|&&c| number(c))
                .count();
    }
    // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
    let body = match chars[at] == ' ' {
        true => at + 1,
        false => at,
    };
    let end = run(chars, body, symbol);
    if end > body {
        return run(chars, end, newline);
    }
    // `\s*[\r\n]+`: the space run up to its last newline, if it has one.
    let spaces = run(chars, at, space);
    if let Some(last) = (at..spaces).rev().find(|&i| newline(chars[i])) {
        return last + 1;
    }
    space_run(chars, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpt2_splits_like_its_regex() {
        assert_eq!(
            SplitPattern::Gpt2.split("Hello  world's 42ab!!\n\n x"),
            vec!["Hello", " ", " world", "'s", " 42", "ab", "!!", "\n\n", " x"]
        );
        // Upper-case contractions are not GPT-2's.
        assert_eq!(SplitPattern::Gpt2.split("I'M"), vec!["I", "'", "M"]);
        assert_eq!(SplitPattern::Gpt2.split("a  "), vec!["a", "  "]);
    }

    #[test]
    fn llama3_splits_like_its_regex() {
        assert_eq!(
            SplitPattern::Llama3.split("I'M 12345 (x)\n\n  y"),
            vec!["I", "'M", " ", "123", "45", " (", "x", ")\n\n", " ", " y"]
        );
        // A space run with newlines: up to the last newline, then the rest.
        assert_eq!(
            SplitPattern::Llama3.split("a \n \nb"),
            vec!["a", " \n \n", "b"]
        );
        assert_eq!(SplitPattern::Qwen2.split("123"), vec!["1", "2", "3"]);
    }

    #[test]
    fn known_patterns_are_recognised() {
        assert_eq!(SplitPattern::of(LLAMA3), Some(SplitPattern::Llama3));
        assert_eq!(SplitPattern::of(r"\s+"), None);
    }
}
