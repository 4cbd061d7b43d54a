//! GPT-2's byte-to-character map: byte-level BPE vocabularies spell each byte as a printable
//! character (bytes that print as themselves keep their character, the others, in order, take
//! U+0100 onwards: a space is "Ġ", a newline "Ċ").

/// The character that spells byte `b`.
pub fn char_of(b: u8) -> char {
    table().0[b as usize]
}

/// The byte character `c` spells, if it spells one.
pub fn byte_of(c: char) -> Option<u8> {
    let (_, bytes) = table();
    bytes
        .binary_search_by_key(&c, |&(c, _)| c)
        .ok()
        .map(|i| bytes[i].1)
}

/// The map both ways: by byte, and (character, byte) sorted by character.
fn table() -> &'static ([char; 256], Vec<(char, u8)>) {
    static TABLE: std::sync::OnceLock<([char; 256], Vec<(char, u8)>)> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let prints = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        let mut chars = ['\0'; 256];
        let mut next = 256;
        for b in 0..=u8::MAX {
            chars[b as usize] = match prints(b) {
                true => char::from(b),
                false => {
                    next += 1;
                    char::from_u32(next - 1).expect("U+0100 to U+0143 are characters")
                }
            };
        }
        let mut bytes: Vec<(char, u8)> = (0..=u8::MAX).map(|b| (chars[b as usize], b)).collect();
        bytes.sort_unstable();
        (chars, bytes)
    })
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
