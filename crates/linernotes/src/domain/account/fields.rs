//! Account fields that parse: e-mail addresses, passwords, roles, display names, bios, avatar URLs,
//! languages and regions, so the rest of the code only ever sees valid values.
//!
//! Each `parse` returns a sentence a client can act on when the value is refused.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::domain::text::check_typed_text;

use super::printable;

/// Longest accepted e-mail address (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;
/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longest accepted password, in characters; longer ones are refused before any hashing.
pub const MAX_PASSWORD_CHARS: usize = 1024;
/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME_CHARS: usize = 100;
/// Longest bio, in characters.
pub const MAX_BIO_CHARS: usize = 1000;
/// Longest avatar URL, in bytes.
pub const MAX_AVATAR_URL_LEN: usize = 2048;

/// A syntactically valid e-mail address, trimmed. Equality of accounts is case-insensitive (the store
/// compares `lower(email)`); the address keeps the case it was given in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email(String);

impl Email {
    /// Trims and validates an address: one `@`, a local part of at most 64 characters, a domain of
    /// dot-separated labels (letters, digits, hyphens) with at least one dot, nothing that could be a
    /// quote, a bracket, a separator or a control character. An internationalised domain is kept in its
    /// ASCII form, and refused when a label mixes Latin, Greek or Cyrillic letters.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim();
        if email.is_empty() {
            return Err("email must not be empty".into());
        }
        if email.len() > MAX_EMAIL_LEN {
            return Err(format!("email must be at most {MAX_EMAIL_LEN} characters"));
        }
        let invalid = || format!("'{}' is not a valid e-mail address", printable(email));
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return Err(invalid());
        }
        let local_ok = local.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || "!#$%&'*+-/=?^_{|}~.".contains(c)
                || (!c.is_ascii() && !c.is_control())
        }) && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| {
                        c.is_ascii_alphanumeric()
                            || c == '-'
                            || (!c.is_ascii() && c.is_alphanumeric())
                    })
            });
        if !(local_ok && domain_ok) {
            return Err(invalid());
        }
        if domain.is_ascii() {
            return Ok(Email(email.to_owned()));
        }
        if let Some(label) = labels.iter().find(|label| mixes_lookalike_scripts(label)) {
            return Err(format!(
                "the domain of '{}' mixes Latin, Greek or Cyrillic letters in '{}', as a look-alike of \
                 another address would; expected letters of one script per label",
                printable(email),
                printable(label)
            ));
        }
        // Internationalised domains are kept in their ASCII form, the one mail servers use, so two
        // spellings that look alike are told apart wherever the address is shown.
        match url::Host::parse(domain) {
            Ok(url::Host::Domain(ascii)) => Ok(Email(format!("{local}@{ascii}"))),
            _ => Err(invalid()),
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address folded for comparisons and throttling keys.
    pub fn normalized(&self) -> String {
        self.0.to_lowercase()
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The scripts whose letters look alike (Latin `a`, Cyrillic `а`, Greek `α`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum LookalikeScript {
    Latin,
    Greek,
    Cyrillic,
}

fn lookalike_script(c: char) -> Option<LookalikeScript> {
    match c {
        'a'..='z' | 'A'..='Z' | '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' => {
            Some(LookalikeScript::Latin)
        }
        '\u{0370}'..='\u{03FF}' | '\u{1F00}'..='\u{1FFF}' => Some(LookalikeScript::Greek),
        '\u{0400}'..='\u{052F}' => Some(LookalikeScript::Cyrillic),
        _ => None,
    }
}

/// Whether a domain label mixes letters of scripts that look alike (`pаypal` with a Cyrillic `а`).
fn mixes_lookalike_scripts(label: &str) -> bool {
    let mut scripts = label.chars().filter_map(lookalike_script);
    let Some(first) = scripts.next() else {
        return false;
    };
    scripts.any(|script| script != first)
}

/// A password within the accepted length. Its `Debug` never shows it.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    /// Accepts 8 to 1024 characters (any characters; spaces count).
    pub fn parse(raw: String) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars < MIN_PASSWORD_CHARS {
            return Err(format!(
                "password must be at least {MIN_PASSWORD_CHARS} characters"
            ));
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(format!(
                "password must be at most {MAX_PASSWORD_CHARS} characters"
            ));
        }
        Ok(Password(raw))
    }

    /// Accepts a password presented to be checked against a stored hash: 1 to 1024 characters (accounts
    /// imported from older deployments may have passwords shorter than today's minimum).
    pub fn existing(raw: String) -> Result<Self, String> {
        let chars = raw.chars().count();
        if chars == 0 {
            return Err("password must not be empty".into());
        }
        if chars > MAX_PASSWORD_CHARS {
            return Err(format!(
                "password must be at most {MAX_PASSWORD_CHARS} characters"
            ));
        }
        Ok(Password(raw))
    }

    /// The password itself, for hashing and verifying only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An ordinary user: their own account only.
    User,
    /// An administrator: every account and the audit log.
    Admin,
}

impl Role {
    /// Parses `user` or `admin`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw.trim() {
            "user" => Ok(Role::User),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "role must be user or admin, got '{}'",
                printable(other)
            )),
        }
    }

    /// `user` or `admin`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Characters refused in names and bios: markup, quotes other than the apostrophe, statement
/// separators and comment starters. Apostrophes stay allowed (O'Brien).
const FORBIDDEN_TEXT_CHARS: &[char] = &['<', '>', '"', '`', ';', '\\', '{', '}'];

fn check_text(
    field: &str,
    text: &str,
    max_chars: usize,
    allow_newlines: bool,
) -> Result<(), String> {
    if text.chars().count() > max_chars {
        return Err(format!("{field} must be at most {max_chars} characters"));
    }
    check_typed_text(field, text, allow_newlines)?;
    if text.contains(FORBIDDEN_TEXT_CHARS) || text.contains("--") || text.contains("/*") {
        return Err(format!(
            "{field} must not contain markup, quotes, semicolons, backslashes, braces or comment markers"
        ));
    }
    Ok(())
}

/// A display name: 1 to 100 characters, trimmed, no markup or control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisplayName(String);

impl DisplayName {
    /// Trims and validates.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("display_name must not be empty".into());
        }
        check_text("display_name", name, MAX_DISPLAY_NAME_CHARS, false)?;
        Ok(DisplayName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A bio: at most 1000 characters, line breaks allowed, no markup; empty clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Bio(String);

impl Bio {
    /// Trims and validates.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let bio = raw.trim();
        check_text("bio", bio, MAX_BIO_CHARS, true)?;
        Ok(Bio(bio.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An avatar URL: `http` or `https`, at most 2048 bytes; empty clears it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AvatarUrl(String);

impl AvatarUrl {
    /// Validates.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let text = raw.trim();
        if text.len() > MAX_AVATAR_URL_LEN {
            return Err(format!(
                "avatar_url must be at most {MAX_AVATAR_URL_LEN} characters"
            ));
        }
        match url::Url::parse(text) {
            Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => {
                Ok(AvatarUrl(url.to_string()))
            }
            _ => Err("avatar_url must be an http(s) URL".into()),
        }
    }

    /// The URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// ISO 639-1 language codes.
const LANGUAGES: &str = "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs \
    cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu \
    hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln \
    lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps \
    pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to \
    tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu";

/// ISO 3166-1 alpha-2 country codes (and XK, widely used for Kosovo).
const REGIONS: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL \
    BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM \
    DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY \
    HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC \
    LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE \
    NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD \
    SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA \
    UG UM US UY UZ VA VC VE VG VI VN VU WF WS XK YE YT ZA ZM ZW";

/// Whether `code` is one of the space-separated codes in `list`.
fn listed(list: &str, code: &str) -> bool {
    list.split_whitespace().any(|known| known == code)
}

/// A language tag: an ISO 639-1 language, optionally a script and a region (`en`, `pt-BR`,
/// `zh-Hant-TW`), written in their usual case. Private-use and extension subtags are refused: nothing
/// linernotes shows depends on them.
pub fn parse_language(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    let invalid = || {
        format!(
            "language must be a language tag such as en, pt-BR or zh-Hant-TW (an ISO 639-1 \
             language, optionally a script and a region), got '{}'",
            printable(text)
        )
    };
    let mut parts = text.split('-');
    let language = parts
        .next()
        .map(str::to_ascii_lowercase)
        .filter(|l| listed(LANGUAGES, l))
        .ok_or_else(invalid)?;
    let mut tag = language;
    let mut rest: Vec<&str> = parts.collect();
    if let Some(script) = rest
        .first()
        .filter(|s| s.len() == 4 && s.chars().all(|c| c.is_ascii_alphabetic()))
    {
        let mut script = script.to_ascii_lowercase();
        script[..1].make_ascii_uppercase();
        tag = format!("{tag}-{script}");
        rest.remove(0);
    }
    match rest.as_slice() {
        [] => Ok(tag),
        [region] => {
            let upper = region.to_ascii_uppercase();
            let is_region = listed(REGIONS, &upper)
                || (region.len() == 3 && region.chars().all(|c| c.is_ascii_digit()));
            if is_region {
                Ok(format!("{tag}-{upper}"))
            } else {
                Err(invalid())
            }
        }
        _ => Err(invalid()),
    }
}

/// A region: an ISO 3166-1 alpha-2 code such as `DE`, upper-cased.
pub fn parse_region(raw: &str) -> Result<String, String> {
    let text = raw.trim().to_ascii_uppercase();
    if listed(REGIONS, &text) {
        Ok(text)
    } else {
        Err(format!(
            "region must be an ISO 3166-1 country code such as DE, got '{}'",
            printable(raw.trim())
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_and_validated() {
        assert!(Email::parse("o'brien+tag@mail.example.org").is_ok());
        assert_eq!(
            Email::parse("  Ada@Example.org ").unwrap().as_str(),
            "Ada@Example.org"
        );
        assert_eq!(
            Email::parse("Ada@Example.org").unwrap().normalized(),
            "ada@example.org"
        );
        for bad in [
            "",
            "ada",
            "@example.org",
            "ada@",
            "ada@localhost",
            "ada@@example.org",
            "a da@example.org",
            "ada@exa mple.org",
            "'; DROP TABLE users; --@x.org",
            "<script>@x.org",
            "ada@-x.org",
            ".ada@x.org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
        assert!(Email::parse(&format!("{}@x.org", "a".repeat(65))).is_err());
    }

    #[test]
    fn passwords_have_bounds_and_hide_in_debug() {
        assert!(Password::parse("short".into()).is_err());
        assert!(Password::parse("x".repeat(1025)).is_err());
        assert!(Password::parse("x".repeat(1024)).is_ok());
        let p = Password::parse("correct horse".into()).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn names_refuse_markup_and_sql_looking_text() {
        assert!(DisplayName::parse("O'Brien").is_ok());
        assert!(DisplayName::parse("   ").is_err());
        assert!(DisplayName::parse("<script>alert(1)</script>").is_err());
        assert!(DisplayName::parse("Robert'); DROP TABLE users;--").is_err());
        assert!(DisplayName::parse(&"x".repeat(101)).is_err());
        assert!(Bio::parse("line one\nline two").is_ok());
    }

    #[test]
    fn look_alike_domains_are_refused_and_international_ones_kept_in_ascii() {
        assert!(
            Email::parse("ada@ex\u{0430}mple.org").is_err(),
            "Cyrillic a in a Latin label"
        );
        let idn = Email::parse("ada@bücher.de").unwrap();
        assert_eq!(idn.as_str(), "ada@xn--bcher-kva.de");
        assert_eq!(
            Email::parse("ada@пример.рф").unwrap().as_str(),
            "ada@xn--e1afmkfd.xn--p1ai"
        );
        assert_eq!(
            Email::parse("Ada@Example.org").unwrap().as_str(),
            "Ada@Example.org"
        );
    }

    #[test]
    fn language_tags_and_regions_must_be_real() {
        assert_eq!(parse_language("pt-br").unwrap(), "pt-BR");
        assert_eq!(parse_language("zh-hant-tw").unwrap(), "zh-Hant-TW");
        assert_eq!(parse_language("es-419").unwrap(), "es-419");
        for bad in [
            "zz-ZZZZ-x",
            "en-x-private",
            "xx",
            "en-QQ",
            "en-Latn-US-extra",
        ] {
            assert!(parse_language(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_region("de").unwrap(), "DE");
        assert!(parse_region("QQ").is_err());
    }
}
