//! GPT-2's byte-to-character map: byte-level BPE vocabularies spell each byte as a printable
//! character (bytes that print as themselves keep their character, the others, in order, take
//! U+0100 onwards: a space is "Ġ", a newline "Ċ").

/// Bytes that print as themselves: `!` to `~`, `¡` to `¬`, `®` to `ÿ`.
fn prints(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// The bytes that do not print, in order: the n-th is spelt U+0100 + n.
fn unprintable() -> impl Iterator<Item = u8> {
    (0..=u8::MAX).filter(|&b| !prints(b))
}

/// The character that spells byte `b`.
pub fn char_of(b: u8) -> char {
    match prints(b) {
        true => char::from(b),
        false => {
            let n = unprintable().take_while(|&u| u < b).count() as u32;
            char::from_u32(0x100 + n).expect("U+0100 to U+0143 are characters")
        }
    }
}

/// The byte character `c` spells, if it spells one.
pub fn byte_of(c: char) -> Option<u8> {
    match u8::try_from(c) {
        Ok(b) if prints(b) => Some(b),
        _ => {
            let n = (c as u32).checked_sub(0x100)?;
            unprintable().nth(n as usize)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_map_as_gpt2_spells_them() {
        // GPT-2's vocabulary: "Ġ" is a space, "Ċ" a newline, "!" itself, byte 0 "Ā".
        assert_eq!(char_of(b' '), 'Ġ');
        assert_eq!(char_of(b'\n'), 'Ċ');
        assert_eq!(char_of(b'!'), '!');
        assert_eq!(char_of(0), 'Ā');
        assert_eq!(char_of(0xAD), 'Ń');
        for b in 0..=u8::MAX {
            assert_eq!(byte_of(char_of(b)), Some(b));
        }
        assert_eq!(byte_of('你'), None);
    }
}
