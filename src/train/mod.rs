//! What training *does*, independent of the engine behind it: batches and the data they come
//! from (tasks, corpus, tokenizers), the training configuration, sessions, experiments and
//! metrics.

pub mod config;
pub mod corpus;
pub mod data;
pub mod evidence;
pub mod experiments;
pub mod hf_tokenizer;
pub mod lockstep;
pub mod metrics;
pub mod presets;
pub mod published;
pub mod run;
pub mod session;
pub mod sweep;
pub mod tasks;
pub mod tokenizer;
pub mod verdict;

pub use config::TrainConfig;
