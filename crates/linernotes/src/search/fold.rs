//! What a name is indexed as, and a query searched as: folded words and whole-name keys.
//!
//! Folding: Unicode compatibility decomposition with the combining marks dropped (é → e, ö → o), a
//! table for the letters decomposition leaves alone (ł ø æ đ ß œ þ ı …), then lower case. Names in
//! scripts without spaces between words (Chinese, Japanese, Thai…) are indexed by single characters and
//! pairs of neighbours, so a query of any part of them matches natively. Every name is also
//! transliterated to Latin (Кино → kino, 宇多田ヒカル → yu duo tian hikaru) and indexed under those words
//! too, so both scripts find it.
//!
//! Keys are whole names with the spaces removed: one keeping punctuation (`ac/dc`, `!!!`, `thethe`), one
//! of letters and digits only (`acdc`, `therapy`), and one transliterated (`kino`). A query whose key
//! equals a name's key is an exact match, so names made of punctuation or of stop words are found.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// `text` folded: no diacritics, the letters decomposition misses mapped by hand, lower case.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkd() {
        if is_combining_mark(c) {
            continue;
        }
        match special_letter(c) {
            Some(replacement) => out.push_str(replacement),
            None => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Letters Unicode decomposition keeps as they are, with the Latin letters people type for them.
fn special_letter(c: char) -> Option<&'static str> {
    Some(match c {
        'ł' | 'Ł' => "l",
        'ø' | 'Ø' => "o",
        'æ' | 'Æ' => "ae",
        'đ' | 'Đ' | 'ð' | 'Ð' => "d",
        'ß' | 'ẞ' => "ss",
        'œ' | 'Œ' => "oe",
        'þ' | 'Þ' => "th",
        'ı' => "i",
        'ħ' | 'Ħ' => "h",
        'ŧ' | 'Ŧ' => "t",
        'ŋ' | 'Ŋ' => "n",
        'ĸ' => "k",
        'ſ' => "s",
        '’' | 'ʼ' | '‘' | '`' => "'",
        _ => return None,
    })
}

/// Whether `c` belongs to a script written without spaces between words.
fn unspaced(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF   // hiragana, katakana
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0x0E00..=0x0E7F // Thai
        | 0x0E80..=0x0EFF // Lao
        | 0x1000..=0x109F // Myanmar
        | 0x1780..=0x17FF // Khmer
        | 0x31F0..=0x31FF // katakana extensions
        | 0xFF66..=0xFF9F // half-width katakana
        | 0x20000..=0x2FFFF)
}

/// Whether `c` is a CJK ideograph (one syllable, one word, when transliterated).
fn ideograph(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FFFF)
}

/// The words of a folded text: runs of letters and digits; runs of unspaced scripts become their single
/// characters and neighbouring pairs.
fn words_of(folded: &str, out: &mut Vec<String>) {
    let mut word = String::new();
    let mut run: Vec<char> = Vec::new();
    let flush_run = |run: &mut Vec<char>, out: &mut Vec<String>| {
        for (i, c) in run.iter().enumerate() {
            out.push(c.to_string());
            if let Some(next) = run.get(i + 1) {
                out.push(format!("{c}{next}"));
            }
        }
        run.clear();
    };
    for c in folded.chars() {
        if unspaced(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            run.push(c);
        } else if c.is_alphanumeric() {
            flush_run(&mut run, out);
            word.push(c);
        } else {
            flush_run(&mut run, out);
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
    }
    flush_run(&mut run, out);
    if !word.is_empty() {
        out.push(word);
    }
}

/// `folded` in Latin letters, lower case.
fn transliterate(folded: &str) -> String {
    let mut latin = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_ascii() {
            latin.push(c);
        } else {
            let ascii = any_ascii::any_ascii_char(c);
            // Ideographs transliterate syllable by syllable: keep them apart as words.
            if ideograph(c) && !ascii.is_empty() {
                latin.push(' ');
                latin.push_str(ascii);
                latin.push(' ');
            } else {
                latin.push_str(ascii);
            }
        }
    }
    latin.to_lowercase()
}

/// The words `text` is indexed under (or a query searches for), without repeats, in order: the folded
/// native words first, then the transliterated ones that differ.
pub fn words(text: &str) -> Vec<String> {
    let folded = fold(text);
    let mut out = Vec::new();
    words_of(&folded, &mut out);
    if !folded.is_ascii() {
        words_of(&transliterate(&folded), &mut out);
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|w| seen.insert(w.clone()));
    out
}

/// The whole-name keys of `text` (see the module documentation), without repeats.
pub fn keys(text: &str) -> Vec<String> {
    let folded = fold(text);
    let with_punctuation: String = folded.chars().filter(|c| !c.is_whitespace()).collect();
    let alphanumeric: String = folded.chars().filter(|c| c.is_alphanumeric()).collect();
    let latin: String = transliterate(&folded)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    let mut out = Vec::new();
    for key in [with_punctuation, alphanumeric, latin] {
        if !key.is_empty() && !out.contains(&key) {
            out.push(key);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_drops_diacritics_and_maps_the_letters_decomposition_misses() {
        assert_eq!(fold("Mötley Crüe"), "motley crue");
        assert_eq!(
            fold("Łona Røyksopp Æon Đorđe Straße"),
            "lona royksopp aeon dorde strasse"
        );
        assert_eq!(fold("Sigur Rós"), "sigur ros");
    }

    #[test]
    fn other_scripts_are_indexed_natively_and_transliterated() {
        assert_eq!(words("Кино"), vec!["кино", "kino"]);
        let japanese = words("宇多田ヒカル");
        assert!(japanese.contains(&"宇多".to_owned()), "{japanese:?}");
        assert!(japanese.contains(&"ヒカ".to_owned()), "{japanese:?}");
        assert!(japanese.contains(&"hikaru".to_owned()), "{japanese:?}");
    }

    #[test]
    fn keys_keep_punctuation_and_stop_words() {
        assert_eq!(keys("AC/DC"), vec!["ac/dc", "acdc"]);
        assert_eq!(keys("!!!"), vec!["!!!"]);
        assert_eq!(keys("The The"), vec!["thethe"]);
        assert_eq!(keys("Therapy?"), vec!["therapy?", "therapy"]);
        assert_eq!(keys("Кино"), vec!["кино", "kino"]);
        assert!(words("!!!").is_empty());
    }
}
