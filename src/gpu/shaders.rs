//! The WGSL sources, one file per kernel family under `shaders/`, compiled into the binary.

/// A kernel family: one `.wgsl` file with its entry points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Shader {
    /// `shaders/matmul.wgsl`: tiled matrix product with optional transposes and bias.
    Matmul,
}

impl Shader {
    /// Every kernel family.
    pub const ALL: [Shader; 1] = [Shader::Matmul];

    /// The file name, also the label prefix of every pipeline built from it.
    pub fn name(self) -> &'static str {
        match self {
            Shader::Matmul => "matmul.wgsl",
        }
    }

    /// The WGSL source.
    pub fn source(self) -> &'static str {
        match self {
            Shader::Matmul => include_str!("../../shaders/matmul.wgsl"),
        }
    }
}
