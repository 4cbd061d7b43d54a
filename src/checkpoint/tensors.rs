//! Named f32 tensors in and out of safetensors bytes: the one tensor format we read and write.
//! F16 and BF16 tensors (as real checkpoints often store) are widened to f32 on reading.

use std::collections::{BTreeMap, HashMap};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::CheckpointError;

/// One tensor: its shape and row-major values.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Tensors by name, in name order (as safetensors stores them).
pub type Tensors = BTreeMap<String, Tensor>;

/// Reads every tensor of a safetensors file's bytes; `file` names it in errors.
pub fn read(bytes: &[u8], file: &str) -> Result<Tensors, CheckpointError> {
    check_header_length(bytes, file)?;
    let parsed = SafeTensors::deserialize(bytes).map_err(|e| invalid(file, e))?;
    let mut tensors = Tensors::new();
    for (name, view) in parsed.tensors() {
        let data = view.data();
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Dtype::BF16 => data
                .chunks_exact(2)
                .map(|b| f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16))
                .collect(),
            Dtype::F16 => data
                .chunks_exact(2)
                .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                .collect(),
            other => {
                return Err(CheckpointError::new(
                    format!("{file}: {name}"),
                    format!("dtype {other:?} is not supported (F32, F16 and BF16 are)"),
                ))
            }
        };
        let shape = view.shape().to_vec();
        tensors.insert(name, Tensor { shape, values });
    }
    Ok(tensors)
}

/// The metadata in a safetensors file's header (string pairs, if any); `file` names it in
/// errors.
pub fn metadata(
    bytes: &[u8],
    file: &str,
) -> Result<Option<HashMap<String, String>>, CheckpointError> {
    check_header_length(bytes, file)?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| invalid(file, e))?;
    Ok(header.metadata().clone())
}

fn invalid(file: &str, error: impl std::fmt::Display) -> CheckpointError {
    CheckpointError::new(file, format!("not a valid safetensors file: {error}"))
}

/// The file starts with its header's length (u64, little-endian): one claiming more than the
/// file has is refused by the numbers (the safetensors crate says "header too large").
fn check_header_length(bytes: &[u8], file: &str) -> Result<(), CheckpointError> {
    let Some(length) = bytes.get(..8) else {
        return Ok(());
    };
    let claimed = u64::from_le_bytes(length.try_into().expect("8 bytes"));
    let rest = bytes.len() - 8;
    if claimed <= rest as u64 {
        return Ok(());
    }
    Err(invalid(
        file,
        format!(
            "its header claims {claimed} bytes, the file has {rest} after the length: \
             truncated, or not a safetensors file"
        ),
    ))
}

/// Serialises f32 tensors; `metadata` goes into the file's header.
pub fn write(
    tensors: &Tensors,
    metadata: Option<HashMap<String, String>>,
) -> Result<Vec<u8>, CheckpointError> {
    let bytes: Vec<(&String, Vec<u8>, &Vec<usize>)> = tensors
        .iter()
        .map(|(name, t)| {
            let data = t.values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name, data, &t.shape)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, data, shape)| {
            TensorView::new(Dtype::F32, shape.to_vec(), data)
                .map(|view| (name.as_str(), view))
                .map_err(|e| CheckpointError::new(name.as_str(), e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::tensor::serialize(views, metadata)
        .map_err(|e| CheckpointError::new("safetensors", e.to_string()))
}

/// IEEE half to single precision, subnormals and infinities included.
fn f16_to_f32(half: u16) -> f32 {
    let sign = u32::from(half >> 15) << 31;
    let exponent = u32::from((half >> 10) & 0x1f);
    let mantissa = u32::from(half & 0x3ff);
    let bits = match (exponent, mantissa) {
        (0, 0) => sign,
        // Subnormal: value = ±mantissa · 2⁻²⁴, exact in f32.
        (0, m) => {
            let magnitude = m as f32 * 2f32.powi(-24);
            return if sign == 0 { magnitude } else { -magnitude };
        }
        (0x1f, m) => sign | 0x7f80_0000 | (m << 13),
        (e, m) => sign | ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_values_widen_exactly() {
        // Hand-encoded halves: 1.0 = 0x3C00, -2.0 = 0xC000, 0.5 = 0x3800, 65504 = 0x7BFF,
        // smallest subnormal 2^-24 = 0x0001, infinity 0x7C00.
        assert_eq!(f16_to_f32(0x3C00), 1.0);
        assert_eq!(f16_to_f32(0xC000), -2.0);
        assert_eq!(f16_to_f32(0x3800), 0.5);
        assert_eq!(f16_to_f32(0x7BFF), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x8001), -(2f32.powi(-24)));
        assert_eq!(f16_to_f32(0x7C00), f32::INFINITY);
        assert!(f16_to_f32(0x7E00).is_nan());
    }

    #[test]
    fn tensors_round_trip_and_bad_bytes_are_refused() {
        let mut tensors = Tensors::new();
        tensors.insert(
            "a".into(),
            Tensor {
                shape: vec![2, 3],
                values: vec![1.0, -2.5, 3.0, 0.0, 1e-30, f32::MAX],
            },
        );
        let bytes = write(&tensors, None).unwrap();
        assert_eq!(read(&bytes, "t.safetensors").unwrap(), tensors);
        let err = read(&bytes[..bytes.len() - 4], "t.safetensors").unwrap_err();
        assert!(err
            .to_string()
            .starts_with("t.safetensors: not a valid safetensors file"));
    }
}
