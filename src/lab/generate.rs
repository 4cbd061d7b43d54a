//! The page's "Generate" box: a prompt, a temperature and a top-k in; text from the newest
//! run out, decoded with its engine's KV cache (the GPU engine's too), with the cache's measured
//! size. A Generate is steps (`Generation`): the page awaits each token's logits between them,
//! since the GPU engine's arrive later; `Lab::generate` runs them at once on the CPU engine.

use super::i18n::{self, Lang};
use super::page_text;
use super::tokenizer::KeptTokenizer;
use super::tour_text::fill;
use super::Lab;
use crate::contract::engine::{now, Sampler, Sampling};
use crate::contract::{Decoding, Engine, EngineError, Pending};
use crate::model::numbers;

/// Tokens each Generate adds.
pub const GENERATE_TOKENS: usize = 64;

/// A refused input, with the control it belongs to ("prompt", "temperature", "top_k").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenerateError {
    pub control: &'static str,
    pub reason: String,
}

impl GenerateError {
    fn new(control: &'static str, reason: impl Into<String>) -> Self {
        Self {
            control,
            reason: reason.into(),
        }
    }

    /// An engine's failure to decode, shown next to the prompt.
    pub fn engine(reason: impl Into<String>) -> Self {
        Self::new("prompt", reason)
    }
}

/// What one Generate gave.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    /// The prompt and what followed it, decoded.
    pub text: String,
    /// New tokens.
    pub tokens: usize,
    /// Bytes allocated for the KV cache.
    pub kv_cache_bytes: usize,
    /// The engine that decoded.
    pub engine: String,
}

impl Generated {
    /// "64 tokens in 120.0 ms, 533.3 tokens/s on the CPU engine; KV cache 12.0 KiB" in `lang`.
    pub fn readout(&self, lang: Lang, seconds: f64) -> String {
        let rate = self.tokens as f64 / seconds.max(1e-9);
        // A small model generates in milliseconds: "0.00 s" would say nothing.
        let time = match seconds < 1.0 {
            true => format!("{} ms", numbers::fixed(seconds * 1000.0, 1)),
            false => format!("{} s", numbers::fixed(seconds, 2)),
        };
        fill(
            page_text::of(lang).generate_readout,
            &[
                ("tokens", &self.tokens.to_string()),
                ("time", &time),
                ("rate", &numbers::count(rate)),
                ("engine", &i18n::translate(lang, &self.engine)),
                ("bytes", &numbers::bytes(self.kv_cache_bytes as f64)),
            ],
        )
    }
}

/// The Generate box's inputs as typed.
#[derive(Clone, Copy, Debug)]
pub struct GenerateInput<'a> {
    pub prompt: &'a str,
    pub temperature: &'a str,
    pub top_k: &'a str,
}

/// A Generate under way: its run, the tokens so far, the sampler and where the cache stands.
pub struct Generation {
    /// The run's index in `Lab::runs` (the newest when it started).
    run: usize,
    tokenizer: KeptTokenizer,
    prompt_len: usize,
    tokens: Vec<u32>,
    sampler: Sampler,
    decoding: Decoding,
}

impl Generation {
    /// Whether all [`GENERATE_TOKENS`] are there.
    pub fn done(&self) -> bool {
        self.tokens.len() - self.prompt_len >= GENERATE_TOKENS
    }

    /// Adds the token drawn from `logits`, those [`Lab::next_logits`] read.
    pub fn push(&mut self, logits: &[f32]) {
        let token = self.sampler.next_token(logits);
        self.tokens.push(token);
    }
}

impl Lab {
    /// Checks `input` against the newest run and starts a Generate from it. Refused inputs
    /// name their control.
    pub fn start_generation(&self, input: GenerateInput) -> Result<Generation, GenerateError> {
        let temperature = match input.temperature.trim().parse::<f32>() {
            Ok(t) if t >= 0.0 && t.is_finite() => t,
            _ => {
                return Err(GenerateError::new(
                    "temperature",
                    format!("{:?} is not a number >= 0", input.temperature),
                ))
            }
        };
        let run = self
            .runs
            .last()
            .ok_or_else(|| GenerateError::new("prompt", "there is no run to generate from"))?;
        let vocab = run.session.run.model.vocab_size;
        let top_k = match input.top_k.trim().parse::<usize>() {
            Ok(k) if k <= vocab => k,
            _ => {
                return Err(GenerateError::new(
                    "top_k",
                    format!(
                        "{:?} is not a whole number from 0 (all) to the vocabulary's {vocab}",
                        input.top_k
                    ),
                ))
            }
        };
        // Kept, not borrowed: the run trains on while the generation decodes.
        let tokenizer = KeptTokenizer::of(run.tokenizer.as_ref(), &run.session.data);
        let tokenizer = tokenizer.ok_or_else(|| {
            GenerateError::new(
                "prompt",
                "this run has no tokenizer (task data, or a model opened without its \
                 tokenizer.json): nothing to decode",
            )
        })?;
        let prompt = (tokenizer.borrowed())
            .encode(input.prompt)
            .map_err(|e| GenerateError::new("prompt", e))?;
        if prompt.is_empty() {
            return Err(GenerateError::new(
                "prompt",
                "type a few characters to start from",
            ));
        }
        let sampling = Sampling {
            n: GENERATE_TOKENS,
            temperature,
            top_k,
            seed: run.session.steps_done() as u64,
        };
        Ok(Generation {
            run: self.runs.len() - 1,
            tokenizer,
            prompt_len: prompt.len(),
            tokens: prompt,
            sampler: sampling.sampler(),
            decoding: Decoding::default(),
        })
    }

    /// Starts reading the logits after `generation`'s tokens from its run's KV cache.
    pub fn next_logits(
        &mut self,
        generation: &mut Generation,
    ) -> Result<Pending<Vec<f32>>, GenerateError> {
        let decoder = self
            .generation_engine(generation)?
            .kv_decode()
            .ok_or_else(|| {
                GenerateError::new("prompt", "this run's engine has no KV-cached decode")
            })?;
        Ok(generation
            .decoding
            .start_next_token(decoder, &generation.tokens))
    }

    /// The engine of `generation`'s run; refused once the run has stopped.
    fn generation_engine(
        &mut self,
        generation: &Generation,
    ) -> Result<&mut Box<dyn Engine>, GenerateError> {
        (self.runs.get_mut(generation.run))
            .and_then(|run| run.engine.as_mut())
            .ok_or_else(|| GenerateError::new("prompt", "this run has stopped: no engine"))
    }

    /// What `generation` gave: its text, new tokens, the cache's bytes and the engine.
    pub fn generated(&mut self, generation: &Generation) -> Result<Generated, GenerateError> {
        let engine = self.generation_engine(generation)?;
        let name = engine.describe();
        let kv_cache_bytes = engine.kv_decode().map_or(0, |d| d.kv_cache_bytes());
        Ok(Generated {
            text: generation.tokenizer.borrowed().decode(&generation.tokens),
            tokens: generation.tokens.len() - generation.prompt_len,
            kv_cache_bytes,
            engine: name,
        })
    }

    /// Generates [`GENERATE_TOKENS`] after `input.prompt` from the newest run at once: on an
    /// engine whose reads complete at once (the CPU engine).
    pub fn generate(&mut self, input: GenerateInput) -> Result<Generated, GenerateError> {
        let mut generation = self.start_generation(input)?;
        while !generation.done() {
            let mut read = self.next_logits(&mut generation)?;
            let at_once = "the decode did not complete at once";
            let logits = now(&mut read)
                .unwrap_or_else(|| Err(EngineError(at_once.into())))
                .map_err(|e| GenerateError::engine(e.to_string()))?;
            generation.push(&logits);
        }
        self.generated(&generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::page_defaults;
    use crate::lab::tests::{clock, settings};

    fn input<'a>(prompt: &'a str, temperature: &'a str, top_k: &'a str) -> GenerateInput<'a> {
        GenerateInput {
            prompt,
            temperature,
            top_k,
        }
    }

    fn trained_lab() -> Lab {
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "3")]), None);
        while lab.train(10.0, &clock()) > 0 {}
        lab
    }

    #[test]
    fn generates_with_the_cache_and_measures_it() {
        let mut lab = trained_lab();
        let out = lab.generate(input("To be", "0", "0")).unwrap();
        assert!(out.text.starts_with("To be"), "{:?}", out.text);
        assert_eq!(out.text.chars().count(), 5 + GENERATE_TOKENS);
        assert_eq!(out.tokens, GENERATE_TOKENS);
        let model = &lab.runs[0].session.run.model;
        assert_eq!(
            out.kv_cache_bytes,
            model.kv_cache_bytes_per_token() * model.context_len
        );
        assert!(out.readout(Lang::En, 0.5).contains(&format!(
            "{GENERATE_TOKENS} tokens in 500.0 ms, 128 tokens/s on the CPU engine; KV cache"
        )));
        assert!(out
            .readout(Lang::En, 2.0)
            .contains("tokens in 2.00 s, 32 tokens/s"));
        assert!(out.readout(Lang::Zh, 0.5).starts_with(&format!(
            "{GENERATE_TOKENS} 个 token，用时 500.0 ms，128 tokens/s，使用CPU 引擎；KV 缓存"
        )));
        // The page's way, a step per token: the same text.
        let mut generation = lab.start_generation(input("To be", "0", "0")).unwrap();
        while !generation.done() {
            let mut read = lab.next_logits(&mut generation).unwrap();
            generation.push(&now(&mut read).unwrap().unwrap());
        }
        assert_eq!(lab.generated(&generation).unwrap().text, out.text);
    }

    #[test]
    fn refused_inputs_name_their_control() {
        let mut lab = trained_lab();
        let vocab = lab.runs[0].session.run.model.vocab_size;
        let refused = |lab: &mut Lab, i| lab.generate(i).unwrap_err();
        let e = refused(&mut lab, input("To be €", "0", "0"));
        assert_eq!(e.control, "prompt");
        assert!(e.reason.contains('€'), "{}", e.reason);
        assert_eq!(refused(&mut lab, input("", "0", "0")).control, "prompt");
        assert_eq!(
            refused(&mut lab, input("To", "-1", "0")).control,
            "temperature"
        );
        assert_eq!(
            refused(&mut lab, input("To", "warm", "0")).control,
            "temperature"
        );
        let top_k = (vocab + 1).to_string();
        let e = refused(&mut lab, input("To", "1", &top_k));
        assert_eq!(e.control, "top_k");
        assert!(e.reason.contains(&vocab.to_string()), "{}", e.reason);
        // At the vocabulary's size top-k is accepted.
        assert!(lab.generate(input("To", "1", &vocab.to_string())).is_ok());
    }
}
