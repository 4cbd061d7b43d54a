//! The WGSL sources, one file per kernel family under `shaders/`, compiled into the binary.

/// A kernel family: one `.wgsl` file with its entry points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shader {
    /// `shaders/matmul.wgsl`: tiled matrix product with optional transposes and bias.
    Matmul,
    /// `shaders/embedding.wgsl`: token embedding plus a position table, and its backward.
    Embedding,
    /// `shaders/position.wgsl`: RoPE forward and backward.
    Position,
    /// `shaders/norm.wgsl`: LayerNorm and RMSNorm (also QK-norm), forward and backward.
    Norm,
    /// `shaders/activation.wgsl`: the MLP activations, plain and gated.
    Activation,
    /// `shaders/attention.wgsl`: masked softmax attention with GQA and ALiBi.
    Attention,
    /// `shaders/dropout.wgsl`: dropout from the CPU's counter-based hash.
    Dropout,
    /// `shaders/loss.wgsl`: softmax cross-entropy with z-loss.
    Loss,
    /// `shaders/adamw.wgsl`: the AdamW update.
    AdamW,
    /// `shaders/grad_norm.wgsl`: global gradient norm and clipping.
    GradNorm,
    /// `shaders/sum.wgsl`: residual add, gradient accumulation, column sums.
    Sum,
}

impl Shader {
    /// Every kernel family.
    pub const ALL: [Shader; 11] = [
        Shader::Matmul,
        Shader::Embedding,
        Shader::Position,
        Shader::Norm,
        Shader::Activation,
        Shader::Attention,
        Shader::Dropout,
        Shader::Loss,
        Shader::AdamW,
        Shader::GradNorm,
        Shader::Sum,
    ];

    /// The file name, also the label prefix of every pipeline built from it.
    pub fn name(self) -> &'static str {
        match self {
            Shader::Matmul => "matmul.wgsl",
            Shader::Embedding => "embedding.wgsl",
            Shader::Position => "position.wgsl",
            Shader::Norm => "norm.wgsl",
            Shader::Activation => "activation.wgsl",
            Shader::Attention => "attention.wgsl",
            Shader::Dropout => "dropout.wgsl",
            Shader::Loss => "loss.wgsl",
            Shader::AdamW => "adamw.wgsl",
            Shader::GradNorm => "grad_norm.wgsl",
            Shader::Sum => "sum.wgsl",
        }
    }

    /// The WGSL source.
    pub fn source(self) -> &'static str {
        match self {
            Shader::Matmul => include_str!("../../shaders/matmul.wgsl"),
            Shader::Embedding => include_str!("../../shaders/embedding.wgsl"),
            Shader::Position => include_str!("../../shaders/position.wgsl"),
            Shader::Norm => include_str!("../../shaders/norm.wgsl"),
            Shader::Activation => include_str!("../../shaders/activation.wgsl"),
            Shader::Attention => include_str!("../../shaders/attention.wgsl"),
            Shader::Dropout => include_str!("../../shaders/dropout.wgsl"),
            Shader::Loss => include_str!("../../shaders/loss.wgsl"),
            Shader::AdamW => include_str!("../../shaders/adamw.wgsl"),
            Shader::GradNorm => include_str!("../../shaders/grad_norm.wgsl"),
            Shader::Sum => include_str!("../../shaders/sum.wgsl"),
        }
    }
}
