//! What training *does*, independent of the engine behind it: batches and the data they come
//! from (tasks, corpus, tokenizers), the training configuration, AdamW and schedules.

pub mod batch;
pub mod config;
pub mod corpus;
pub mod data;
pub mod experiments;
pub mod metrics;
pub mod optim;
pub mod presets;
pub mod run;
pub mod schedule;
pub mod session;
pub mod tasks;
pub mod tokenizer;

pub use batch::{Batch, IGNORE};
pub use config::{Schedule, TrainConfig};
