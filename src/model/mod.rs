//! What a model *is*: its configuration, validation, accounting and parameter layout.

pub mod accounting;
pub mod config;
pub mod layout;
pub mod memory;
pub mod numbers;
pub mod receptive;
pub mod rules;

pub use accounting::{NumberFormat, ParamCount};
pub use config::{
    Activation, AttentionPattern, BlockLayout, ConfigError, Dropout, LayerPattern, ModelConfig,
    NormPosition, NormSites, NormType, ParallelNorm, Position, QkNormScope,
};
pub use layout::{ParamKind, ParamLayout, TensorSpec};
pub use memory::{AttentionMemory, MemoryBudget, MemoryNeed};
