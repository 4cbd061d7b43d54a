//! What a model *is*: its configuration, validation, accounting and parameter layout.

pub mod config;
pub mod layout;

pub use config::{
    Activation, AttentionPattern, BlockLayout, ConfigError, Dropout, LayerPattern, ModelConfig,
    NormPosition, NormSites, NormType, ParallelNorm, ParamCount, Position, QkNormScope,
    PRESET_NAMES,
};
pub use layout::{ParamKind, ParamLayout, TensorSpec};
