//! The page's "Generate" box: a prompt, a temperature and a top-k in; text from the newest
//! run out, decoded with a KV cache, with the cache's measured size. An engine without a cache
//! of its own (the GPU engine) hands its parameters to a CPU engine that decodes instead.

use super::tokenizer::RunTokenizer;
use super::Lab;
use crate::contract::engine::{now, Sampling};
use crate::contract::{Decoding, Engine, EngineError, EngineState, KvDecode, Pending};
use crate::cpu::CpuEngine;
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
    /// "64 tokens in 120.0 ms, 533.3 tokens/s on the CPU engine; KV cache 12.0 KiB".
    pub fn readout(&self, seconds: f64) -> String {
        let rate = self.tokens as f64 / seconds.max(1e-9);
        // A small model generates in milliseconds: "0.00 s" would say nothing.
        let time = match seconds < 1.0 {
            true => format!("{} ms", numbers::fixed(seconds * 1000.0, 1)),
            false => format!("{} s", numbers::fixed(seconds, 2)),
        };
        format!(
            "{} tokens in {time}, {} tokens/s on the {}; KV cache {}",
            self.tokens,
            numbers::count(rate),
            self.engine,
            numbers::bytes(self.kv_cache_bytes as f64)
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

impl Lab {
    /// The newest run's parameters to read first when its engine has no KV cache of its own
    /// (the GPU engine); None when it decodes itself or there is no engine.
    pub fn generation_state(&mut self) -> Option<Pending<EngineState>> {
        let engine = self.runs.last_mut()?.engine.as_mut()?;
        match engine.kv_decode() {
            Some(_) => None,
            None => Some(engine.start_state()),
        }
    }

    /// Generates [`GENERATE_TOKENS`] after `input.prompt` from the newest run with a KV cache:
    /// on its own engine, or with `params` (read by [`Lab::generation_state`]) on a CPU engine.
    /// Refused inputs name their control.
    pub fn generate(
        &mut self,
        input: GenerateInput,
        params: Option<Vec<f32>>,
    ) -> Result<Generated, GenerateError> {
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
            .last_mut()
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
        // Not run.text_tokenizer(): the engine is borrowed mutably below.
        let tokenizer = RunTokenizer::of(run.tokenizer.as_deref(), &run.session.data);
        let tokenizer = tokenizer.ok_or_else(|| {
            GenerateError::new(
                "prompt",
                "this run has no tokenizer (task data, or a model opened without its \
                 tokenizer.json): nothing to decode",
            )
        })?;
        let prompt = tokenizer
            .encode(input.prompt)
            .map_err(|e| GenerateError::new("prompt", e))?;
        if prompt.is_empty() {
            return Err(GenerateError::new(
                "prompt",
                "type a few characters to start from",
            ));
        }
        let mut cpu;
        let (decoder, engine): (&mut dyn KvDecode, String) = match params {
            Some(params) => {
                let model = &run.session.run.model;
                cpu = CpuEngine::new(model, 0)
                    .and_then(|mut engine| engine.set_params(&params).map(|()| engine))
                    .map_err(|e| GenerateError::new("prompt", e.to_string()))?;
                (&mut cpu, "CPU engine, with the GPU run's parameters".into())
            }
            None => {
                let stopped = || GenerateError::new("prompt", "this run has stopped: no engine");
                let engine = run.engine.as_mut().ok_or_else(stopped)?;
                let name = engine.describe();
                (engine.kv_decode().ok_or_else(stopped)?, name)
            }
        };
        let sampling = Sampling {
            n: GENERATE_TOKENS,
            temperature,
            top_k,
            seed: run.session.steps_done() as u64,
        };
        let mut decoding = Decoding::default();
        let new = sampling
            .run(&prompt, |tokens| {
                now(&mut decoding.start_next_token(decoder, tokens)).unwrap_or_else(|| {
                    Err(EngineError("the decode did not complete at once".into()))
                })
            })
            .map_err(|e| GenerateError::new("prompt", e.to_string()))?;
        let mut all = prompt;
        all.extend(&new);
        Ok(Generated {
            text: tokenizer.decode(&all),
            tokens: new.len(),
            kv_cache_bytes: decoder.kv_cache_bytes(),
            engine,
        })
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
        assert!(
            lab.generation_state().is_none(),
            "the CPU engine decodes itself"
        );
        let out = lab.generate(input("To be", "0", "0"), None).unwrap();
        assert!(out.text.starts_with("To be"), "{:?}", out.text);
        assert_eq!(out.text.chars().count(), 5 + GENERATE_TOKENS);
        assert_eq!(out.tokens, GENERATE_TOKENS);
        let model = &lab.runs[0].session.run.model;
        assert_eq!(
            out.kv_cache_bytes,
            model.kv_cache_bytes_per_token() * model.context_len
        );
        assert!(out.readout(0.5).contains(&format!(
            "{GENERATE_TOKENS} tokens in 500.0 ms, 128 tokens/s on the CPU engine; KV cache"
        )));
        assert!(out.readout(2.0).contains("tokens in 2.00 s, 32 tokens/s"));
        // A CPU engine given the run's parameters (the GPU engine's way) decodes the same.
        let params = lab.runs[0].engine.as_ref().unwrap().layout().total_len;
        let state = now(&mut lab.runs[0].engine.as_ref().unwrap().start_state())
            .unwrap()
            .unwrap();
        assert_eq!(state.params.len(), params);
        let again = lab
            .generate(input("To be", "0", "0"), Some(state.params))
            .unwrap();
        assert_eq!(again.text, out.text);
        assert!(again.engine.contains("GPU run's parameters"));
    }

    #[test]
    fn refused_inputs_name_their_control() {
        let mut lab = trained_lab();
        let vocab = lab.runs[0].session.run.model.vocab_size;
        let refused = |lab: &mut Lab, i| lab.generate(i, None).unwrap_err();
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
        assert!(lab
            .generate(input("To", "1", &vocab.to_string()), None)
            .is_ok());
    }
}
