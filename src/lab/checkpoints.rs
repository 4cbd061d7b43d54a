//! Checkpoints in the page: uploaded files (our checkpoint, or a Hugging Face folder) opened as
//! a run that continues training, and any run saved as one downloadable file.

use std::rc::Rc;

use super::i18n::Lang;
use super::{Lab, RunEntry};
use crate::checkpoint::{self, Checkpoint};
use crate::contract::engine::now;
use crate::contract::{Engine, EngineError, EngineState, Pending};
use crate::train::hf_tokenizer::HfTokenizer;
use crate::train::run::{RunConfig, RunError};

/// A run's checkpoint: at once on the CPU engine; on the GPU, the state's reads to await,
/// taken once no step is in flight.
pub enum CheckpointOf {
    Ready(Checkpoint),
    Pending {
        run: RunConfig,
        step: usize,
        state: Pending<EngineState>,
    },
}

/// A checkpoint of `run` at `step` from an engine's state.
pub(super) fn checkpoint_of(run: RunConfig, step: usize, state: EngineState) -> Checkpoint {
    Checkpoint {
        run,
        params: state.params,
        optimizer: Some(state.optimizer),
        step,
    }
}

impl CheckpointOf {
    /// The checkpoint, once its reads have arrived.
    pub async fn wait(self) -> Result<Checkpoint, EngineError> {
        match self {
            Self::Ready(checkpoint) => Ok(checkpoint),
            Self::Pending { run, step, state } => Ok(checkpoint_of(run, step, state.await?)),
        }
    }
}

/// The file name a run downloads as: "archlab-run-3-step-200.safetensors".
pub fn file_name(run: &RunEntry) -> String {
    format!(
        "archlab-run-{}-step-{}.safetensors",
        run.id,
        run.session.steps_done()
    )
}

impl RunEntry {
    /// The run's checkpoint (parameters, optimizer state, configuration, step); None on the GPU
    /// while steps are in flight (pause and wait for them first), and for a run whose engine
    /// was freed (only the newest run keeps its state).
    pub fn checkpoint(&self) -> Option<CheckpointOf> {
        let engine = self.engine.as_deref()?;
        if self.session.busy(engine) {
            return None;
        }
        let (run, step) = (self.session.run.clone(), self.session.steps_done());
        let mut state = engine.start_state();
        Some(match now(&mut state) {
            Some(Ok(state)) => CheckpointOf::Ready(checkpoint_of(run, step, state)),
            Some(Err(error)) => CheckpointOf::Pending {
                run,
                step,
                state: Box::pin(std::future::ready(Err(error))),
            },
            None => CheckpointOf::Pending { run, step, state },
        })
    }
}

impl Lab {
    /// Opens uploaded `files` (name, bytes) as a new run that continues from them: our
    /// checkpoint (its configuration, parameters, optimizer state and step) or a Hugging Face
    /// folder (its model, trained with the controls' training and data settings; its
    /// `tokenizer.json`, if there, for Look at and Generate). Refused with
    /// the file and the reason when they do not make a checkpoint, or when the data's tokens do
    /// not fit the model's vocabulary; the controls and the runs before stay as they were.
    pub fn open_checkpoint(&mut self, files: &[(String, Vec<u8>)]) -> Result<String, RunError> {
        let refused = |e: checkpoint::CheckpointError| RunError {
            field: "checkpoint".into(),
            reason: e.to_string(),
        };
        let checkpoint::Opened {
            checkpoint,
            family,
            tokenizer,
        } = checkpoint::open(files).map_err(refused)?;
        let mut requested = checkpoint.run.clone();
        let label = match family {
            Some(family) => {
                // Imported weights come without a training setup: the page's is used, at most
                // as long as the model's context.
                requested.train = self.draft.train.clone();
                requested.data = self.draft.data.clone();
                let context = requested.model.context_len;
                requested.train.seq_len = requested.train.seq_len.min(context);
                format!("opened {}", family.architecture())
            }
            None => format!("opened checkpoint at step {}", checkpoint.step),
        };
        let previous = self.runs.last().map(|r| r.requested.clone());
        let opened = Rc::new(checkpoint);
        let id = self.next_id;
        self.start(
            id,
            requested.clone(),
            previous.as_ref(),
            Some(label),
            Some(opened),
        )?;
        self.set_tokenizer(tokenizer.map(Rc::new));
        self.draft = requested;
        self.rejected.clear();
        self.problem = None;
        self.next_id += 1;
        Ok(label_of(self))
    }
}

impl Lab {
    /// Gives the newest run an imported model's tokenizer (None: its data's).
    pub(super) fn set_tokenizer(&mut self, tokenizer: Option<Rc<HfTokenizer>>) {
        if let Some(run) = self.runs.last_mut() {
            run.tokenizer = tokenizer;
        }
    }
}

/// The newest run's name.
fn label_of(lab: &Lab) -> String {
    lab.runs
        .last()
        .map(|r| r.name(Lang::En))
        .unwrap_or_default()
}

/// Loads `checkpoint`'s parameters (and optimizer state, if any) into a new run's engine.
pub(super) fn restore(engine: &mut dyn Engine, checkpoint: &Checkpoint) -> Result<(), RunError> {
    let refused = |e: crate::model::ConfigError| RunError {
        field: format!("checkpoint: {}", e.field),
        reason: e.reason,
    };
    engine.set_params(&checkpoint.params).map_err(refused)?;
    if let Some(state) = checkpoint.optimizer.clone() {
        engine.set_optimizer_state(state).map_err(refused)?;
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::checkpoint::hf;
    use crate::lab::page_defaults;

    /// Uploaded files: (name, bytes).
    type Files<'a> = &'a [(&'a str, &'a [u8])];

    fn open(lab: &mut Lab, files: Files) -> Result<String, String> {
        let files: Vec<(String, Vec<u8>)> = files
            .iter()
            .map(|(name, bytes)| (name.to_string(), bytes.to_vec()))
            .collect();
        lab.open_checkpoint(&files).map_err(|e| e.to_string())
    }

    /// Issue 13: a malformed, truncated or mismatched checkpoint is refused with the file and
    /// the reason, and the page keeps what it had: the runs, the newest run's engine, the
    /// controls.
    #[test]
    fn bad_checkpoints_are_refused_and_what_was_loaded_stays() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        let Some(CheckpointOf::Ready(saved)) = lab.runs[0].checkpoint() else {
            panic!("the CPU engine's checkpoint is ready at once");
        };
        let (manifest, weights) = saved.to_bytes().unwrap();
        assert_eq!(
            open(
                &mut lab,
                &[
                    ("archlab.json", manifest.as_bytes()),
                    ("model.safetensors", &weights)
                ]
            ),
            Ok("run 2: opened checkpoint at step 0".into())
        );

        let mut huge_header = weights.clone();
        huge_header[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
        let wider = manifest.replace("\"d_ff\": null", "\"d_ff\": 40");
        let (hf_config, hf_weights) = hf::export(&saved.run.model, &saved.params).unwrap();
        let mamba = hf_config.replace("\"model_type\": \"llama\"", "\"model_type\": \"mamba\"");
        let cases: [(Files, &str); 5] = [
            (
                &[("run.safetensors", &weights[..weights.len() - 100])],
                "checkpoint: model.safetensors: not a valid safetensors file",
            ),
            (
                &[("run.safetensors", &huge_header)],
                "checkpoint: model.safetensors: not a valid safetensors file: its header claims \
                 1099511627776 bytes",
            ),
            (
                &[
                    ("archlab.json", wider.as_bytes()),
                    ("model.safetensors", &weights),
                ],
                "checkpoint: model.safetensors: layers.0.mlp.w1: has shape [88, 32], the model \
                 needs [40, 32]",
            ),
            (
                &[
                    ("archlab.json", b"{\"format\": 1"),
                    ("model.safetensors", &weights),
                ],
                "checkpoint: archlab.json: invalid type: integer `1`, expected a string",
            ),
            (
                &[
                    ("config.json", mamba.as_bytes()),
                    ("model.safetensors", &hf_weights),
                ],
                "checkpoint: config.json: model_type: \"mamba\" is not supported; archlab reads \
                 llama, mistral, qwen3, olmo2, gpt2, gpt_neox",
            ),
        ];
        for (files, message) in cases {
            let (runs, draft) = (lab.runs.len(), lab.draft.clone());
            let error = open(&mut lab, files).unwrap_err();
            assert!(error.starts_with(message), "{error}");
            assert_eq!(lab.runs.len(), runs, "{message}");
            assert!(lab.draft == draft, "{message}: the controls stay");
            assert!(
                lab.problem.is_none(),
                "{message}: the controls have no problem"
            );
            assert!(
                lab.training_run().is_some(),
                "{message}: the newest run still trains"
            );
        }
        assert!(lab.train(0.0, &crate::lab::tests::clock()) > 0);
    }

    /// The fixture's tokenizer.json (tools/make_tokenizer_fixtures.py) and the ids the
    /// `tokenizers` package gave for "Hello world" (the lab's tests share it).
    pub(in crate::lab) fn fixture(name: &str) -> (String, Vec<u32>) {
        let folder = format!(
            "{}/tests/fixtures/tokenizers/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let json = std::fs::read_to_string(format!("{folder}/tokenizer.json")).unwrap();
        let cases: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{folder}/cases.json")).unwrap())
                .unwrap();
        let hello = cases["encode"]
            .as_array()
            .unwrap()
            .iter()
            .find(|case| case["text"] == "Hello world")
            .unwrap();
        let ids = serde_json::from_value(hello["ids"].clone()).unwrap();
        (json, ids)
    }

    /// A tiny model exported as a Hugging Face folder with `vocab_size` tokens, and `tokenizer`
    /// (the lab's tests share it).
    pub(in crate::lab) fn hf_folder(vocab_size: usize, tokenizer: &str) -> Vec<(String, Vec<u8>)> {
        let mut model = page_defaults().model;
        model.vocab_size = vocab_size;
        let params = crate::model::ParamLayout::new(&model).init(1);
        let (config, weights) = hf::export(&model, &params).unwrap();
        vec![
            ("tiny/config.json".into(), config.into_bytes()),
            ("tiny/model.safetensors".into(), weights),
            ("tiny/tokenizer.json".into(), tokenizer.as_bytes().to_vec()),
        ]
    }

    /// Issue 14: an imported model with its tokenizer.json takes text in Look at and Generate,
    /// tokenized as Hugging Face's `tokenizers` does; a reset keeps the tokenizer.
    #[test]
    fn an_imported_model_reads_text_with_its_own_tokenizer() {
        use crate::lab::generate::{GenerateInput, GENERATE_TOKENS};
        for name in ["llama3", "llama2"] {
            let (json, hello) = fixture(name);
            let mut lab = Lab::new(page_defaults(), &[], None);
            lab.open_checkpoint(&hf_folder(600, &json)).unwrap();
            assert_eq!(lab.probe_tokens("Hello world").unwrap(), hello, "{name}");
            lab.look_at("Hello world").unwrap();
            let input = GenerateInput {
                prompt: "Hello world",
                temperature: "0",
                top_k: "0",
            };
            let generated = lab.generate(input).unwrap();
            assert!(
                generated.text.starts_with("Hello world"),
                "{name}: {:?}",
                generated.text
            );
            assert_eq!(generated.tokens, GENERATE_TOKENS);
            lab.reset();
            assert_eq!(
                lab.probe_tokens("Hello world").unwrap(),
                hello,
                "{name}: after reset"
            );
        }
        // Without tokenizer.json the model reads text with its data's tokenizer, as before.
        let mut lab = Lab::new(page_defaults(), &[], None);
        let mut files = hf_folder(600, "");
        files.pop();
        lab.open_checkpoint(&files).unwrap();
        assert!(lab.runs[1].tokenizer.is_none());
        assert!(matches!(
            lab.runs[1].text_tokenizer(),
            Some(crate::lab::tokenizer::RunTokenizer::Data(_))
        ));
    }

    /// A tokenizer.json that is not this model's, or not one archlab runs, is refused by name
    /// and nothing changes.
    #[test]
    fn a_tokenizer_that_does_not_fit_is_refused() {
        let (json, _) = fixture("gpt2");
        let wordpiece = json.replace("\"type\":\"BPE\"", "\"type\":\"WordPiece\"");
        assert_ne!(wordpiece, json);
        let cases = [
            (
                hf_folder(300, &json),
                "checkpoint: tokenizer.json: its token ids reach 399, beyond the model's \
                 vocabulary of 300",
            ),
            (
                hf_folder(600, &wordpiece),
                "checkpoint: tokenizer.json: model.type: \"WordPiece\" is not supported",
            ),
            (
                hf_folder(600, "{\"model\": 1"),
                "checkpoint: tokenizer.json: json: EOF while parsing",
            ),
        ];
        let mut lab = Lab::new(page_defaults(), &[], None);
        for (files, message) in cases {
            let files: Vec<(String, Vec<u8>)> = files;
            let error = lab.open_checkpoint(&files).unwrap_err().to_string();
            assert!(error.starts_with(message), "{error}");
            assert_eq!(lab.runs.len(), 1);
            assert!(lab.runs[0].tokenizer.is_none());
        }
    }
}
