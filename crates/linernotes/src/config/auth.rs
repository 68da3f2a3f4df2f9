//! `auth`: access and refresh tokens, password hashing cost, login throttling, mail, deletion and
//! retention of accounts.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::redact::serialize_redacted_secret;
use super::Issues;

/// Accounts and security.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 signing key of access tokens (at least 32 bytes); empty: a random key per start.
    #[serde(serialize_with = "serialize_redacted_secret")]
    pub jwt_secret: SecretString,
    /// `iss` and `aud` of access tokens.
    pub jwt_issuer: String,
    /// Access-token lifetime.
    pub access_token_ttl_secs: u64,
    /// Session (refresh-token) lifetime.
    pub refresh_token_ttl_secs: u64,
    /// Lifetime of e-mail verification tokens.
    pub verify_email_ttl_secs: u64,
    /// Lifetime of password-reset tokens.
    pub password_reset_ttl_secs: u64,
    /// Argon2id cost.
    pub argon2: Argon2Settings,
    /// Failed-login limits.
    pub throttle: ThrottleSettings,
    /// Days a deleted account is kept before it is purged.
    pub deletion_retention_days: u64,
    /// Accounts with no login for this many days are deleted (then purged); 0 turns this off.
    pub inactive_account_days: u64,
    /// How often the purge job runs.
    pub purge_interval_secs: u64,
    /// Base URL put in mailed links (verification, reset).
    pub public_url: String,
    /// `From` of mails.
    pub mail_from: String,
    /// SMTP server (`smtp://user:pass@host:587?tls=required`, `smtps://…:465`); empty: the outbox.
    #[serde(serialize_with = "serialize_redacted_secret")]
    pub smtp_url: SecretString,
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Settings {
    /// Memory, KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

/// Failed-login limits per account and per client address.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSettings {
    /// Failures of one account within the window that lock it.
    pub account_max_failures: u32,
    /// Failures of one client address within the window that lock it.
    pub ip_max_failures: u32,
    /// Requests of one client address within the window to register, verify an address or confirm a
    /// password reset (each hashes a password or sends mail) that lock it for these.
    pub ip_max_account_requests: u32,
    /// The counting window.
    pub window_secs: u64,
    /// The first lockout; each further one doubles.
    pub lockout_secs: u64,
    /// The longest lockout.
    pub max_lockout_secs: u64,
    /// A client address locked for failed logins still lets an account log in from it when that
    /// account logged in from it with its right password within this many days (0: never).
    pub known_login_days: u64,
}

impl AuthSettings {
    /// Whether the Argon2id cost is below OWASP's minimum (19 MiB, 2 passes, 1 lane, or equivalent).
    pub fn argon2_below_owasp(&self) -> bool {
        let a = &self.argon2;
        u64::from(a.memory_kib) * u64::from(a.iterations) < 19_456 * 2
    }

    pub(super) fn check(&self, issues: &mut Issues) {
        let secret_len = self.jwt_secret.expose_secret().len();
        issues.check(
            secret_len == 0 || secret_len >= 32,
            "jwt_secret",
            format!(
                "must be empty (a random key per start) or at least 32 bytes, got {secret_len}"
            ),
        );
        issues.check(
            !self.jwt_issuer.trim().is_empty(),
            "jwt_issuer",
            "must not be empty",
        );
        issues.range(
            "access_token_ttl_secs",
            self.access_token_ttl_secs,
            30,
            86_400,
        );
        issues.range(
            "refresh_token_ttl_secs",
            self.refresh_token_ttl_secs,
            300,
            31_536_000,
        );
        issues.range(
            "verify_email_ttl_secs",
            self.verify_email_ttl_secs,
            60,
            2_592_000,
        );
        issues.range(
            "password_reset_ttl_secs",
            self.password_reset_ttl_secs,
            60,
            86_400,
        );
        issues.range("purge_interval_secs", self.purge_interval_secs, 1, 604_800);
        let throttle = &self.throttle;
        issues.range("throttle.window_secs", throttle.window_secs, 1, 86_400);
        issues.range("throttle.lockout_secs", throttle.lockout_secs, 1, 86_400);
        issues.range(
            "throttle.max_lockout_secs",
            throttle.max_lockout_secs,
            1,
            2_592_000,
        );
        issues.check(
            throttle.max_lockout_secs >= throttle.lockout_secs,
            "throttle.max_lockout_secs",
            "must not be below auth.throttle.lockout_secs",
        );
        for (key, value) in [
            (
                "throttle.account_max_failures",
                throttle.account_max_failures,
            ),
            ("throttle.ip_max_failures", throttle.ip_max_failures),
            (
                "throttle.ip_max_account_requests",
                throttle.ip_max_account_requests,
            ),
        ] {
            issues.range(key, value, 1, 100_000);
        }
        issues.range(
            "deletion_retention_days",
            self.deletion_retention_days,
            0,
            3650,
        );
        issues.check(
            self.inactive_account_days <= 36_500,
            "inactive_account_days",
            format!(
                "must be at most 36500 (0 turns it off), got {}",
                self.inactive_account_days
            ),
        );
        let a = &self.argon2;
        issues.range("argon2.parallelism", a.parallelism, 1, 16);
        issues.check(
            a.memory_kib >= 8 * a.parallelism.max(1) && a.memory_kib <= 4 * 1024 * 1024,
            "argon2.memory_kib",
            format!(
                "must be at least 8 × parallelism and at most 4194304 (4 GiB), got {}",
                a.memory_kib
            ),
        );
        issues.range("argon2.iterations", a.iterations, 1, 100);
        issues.http_url("public_url", &self.public_url);
        let smtp = self.smtp_url.expose_secret();
        issues.check(
            smtp.is_empty()
                || url::Url::parse(smtp).is_ok_and(|u| matches!(u.scheme(), "smtp" | "smtps")),
            "smtp_url",
            "must be empty (mail goes to the mail_outbox table) or an smtp:// or smtps:// URL",
        );
        issues.check(
            crate::domain::account::Email::parse(&self.mail_from).is_ok(),
            "mail_from",
            format!("'{}' is not an e-mail address", self.mail_from),
        );
    }
}
