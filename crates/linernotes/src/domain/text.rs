//! Text people type (names, descriptions, bios, device names) as linernotes accepts it: nothing that
//! changes how the text around it is shown while being invisible itself — control characters (line
//! breaks only where a field is multi-line), bidirectional overrides and isolates, zero-width spaces,
//! word joiners, byte-order marks, tag characters — and, in a field that must say something, at least
//! one visible character. Zero-width joiners and non-joiners stay allowed inside text (emoji sequences,
//! Persian and Indic scripts need them), but never make a name on their own.

/// Whether `c` is an invisible character that changes how the text around it is shown or read, and
/// has no place in a name (see the module documentation).
pub fn is_invisible_formatting(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'                  // soft hyphen
            | '\u{061C}'            // Arabic letter mark
            | '\u{180E}'            // Mongolian vowel separator
            | '\u{200B}'            // zero-width space
            | '\u{200E}' | '\u{200F}' // left-to-right and right-to-left marks
            | '\u{202A}'..='\u{202E}' // bidirectional embeddings and overrides
            | '\u{2060}'..='\u{2064}' // word joiner, invisible operators
            | '\u{2066}'..='\u{2069}' // bidirectional isolates
            | '\u{206A}'..='\u{206F}' // deprecated format characters
            | '\u{FEFF}'            // byte-order mark
            | '\u{FFF9}'..='\u{FFFB}' // interlinear annotations
            | '\u{E0000}'..='\u{E007F}' // tag characters
    )
}

/// Whether `c` shows nothing by itself (white space and joiners).
fn is_blank(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200C}' | '\u{200D}' | '\u{034F}')
}

/// Checks `text` (already trimmed) of the field called `field`: no control characters (line breaks and
/// tabs only when `multiline`), no invisible formatting characters, and — unless it is empty — at least
/// one visible character. The message names the field and what was expected.
pub fn check_typed_text(field: &str, text: &str, multiline: bool) -> Result<(), String> {
    if text
        .chars()
        .any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\t')))
    {
        return Err(if multiline {
            format!("{field} must not contain control characters")
        } else {
            format!("{field} must be one line without control characters")
        });
    }
    if text.chars().any(is_invisible_formatting) {
        return Err(format!(
            "{field} must not contain invisible formatting characters (direction overrides, \
             zero-width spaces, byte-order marks)"
        ));
    }
    if !text.is_empty() && text.chars().all(is_blank) {
        return Err(format!("{field} must contain a visible character"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_refuse_what_hides_or_misleads_and_keep_what_scripts_need() {
        assert!(check_typed_text("name", "Road trip", false).is_ok());
        assert!(check_typed_text("name", "👩\u{200D}💻 coding", false).is_ok());
        assert!(check_typed_text("name", "می\u{200C}خواهم", false).is_ok());
        assert!(check_typed_text("name", "Road\ntrip", false).is_err());
        assert!(check_typed_text("description", "Road\ntrip", true).is_ok());
        assert!(check_typed_text("name", "evil\u{202E}gpj.exe", false).is_err());
        assert!(check_typed_text("name", "a\u{200B}b", false).is_err());
        assert!(check_typed_text("name", "\u{200D}\u{200C}", false).is_err());
        assert!(check_typed_text("name", "", false).is_ok());
    }
}
