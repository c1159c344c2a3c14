//! Language tags of subtitle renditions (the `LANGUAGE` attribute of HLS, RFC 5646).
//!
//! One check for every front door (the command line and the upload API), so a tag one accepts is never
//! refused by the other half-way through a job.

/// The longest tag accepted; RFC 5646 tags in practice are far shorter.
pub const MAX_LANGUAGE_TAG: usize = 35;

/// Whether `tag` is shaped like a language tag: ASCII letters and digits in subtags joined by `-`
/// (`en`, `pt-BR`, `zh-Hant-TW`), at most [`MAX_LANGUAGE_TAG`] bytes. It does not check the registry.
pub fn is_language_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= MAX_LANGUAGE_TAG
        && tag.split('-').all(|part| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_subtags_of_letters_and_digits() {
        for good in ["en", "pt-BR", "zh-Hant-TW", "es-419"] {
            assert!(is_language_tag(good), "{good}");
        }
        for bad in ["", "-", "en-", "-en", "en--GB", "en_GB", "en GB", "é", &"a".repeat(36)] {
            assert!(!is_language_tag(bad), "{bad:?}");
        }
    }
}
