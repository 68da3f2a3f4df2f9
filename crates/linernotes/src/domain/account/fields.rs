//! Account fields that parse: e-mail addresses, passwords, roles, display names, bios, avatar URLs,
//! languages and regions, so the rest of the code only ever sees valid values.
//!
//! Each `parse` returns a sentence a client can act on when the value is refused.

use std::fmt;

use serde::{Deserialize, Serialize};

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
    /// quote, a bracket, a separator or a control character.
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
        if local_ok && domain_ok {
            Ok(Email(email.to_owned()))
        } else {
            Err(invalid())
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    if text
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && (c == '\n' || c == '\t')))
    {
        return Err(format!("{field} must not contain control characters"));
    }
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

/// A language tag such as `en` or `pt-BR` (a BCP 47 primary subtag with optional subtags).
pub fn parse_language(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    let mut parts = text.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if primary_ok && rest_ok && text.len() <= 35 {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "language must be a language tag such as en or pt-BR, got '{}'",
            printable(text)
        ))
    }
}

/// A region: an ISO 3166-1 alpha-2 code such as `DE`, upper-cased.
pub fn parse_region(raw: &str) -> Result<String, String> {
    let text = raw.trim();
    if text.len() == 2 && text.chars().all(|c| c.is_ascii_alphabetic()) {
        Ok(text.to_ascii_uppercase())
    } else {
        Err(format!(
            "region must be a two-letter country code such as DE, got '{}'",
            printable(text)
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
}
