//! The unit of data an engine trains on.

/// One batch of token sequences, row-major `[batch, seq]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub batch: usize,
    pub seq: usize,
    /// Input token ids, `[batch * seq]`.
    pub inputs: Vec<u32>,
    /// Next-token targets, `[batch * seq]`; IGNORE marks positions that do not count in the loss.
    pub targets: Vec<i32>,
}
/// Target value of positions left out of the loss (PyTorch's ignore_index).
pub const IGNORE: i32 = -1;
