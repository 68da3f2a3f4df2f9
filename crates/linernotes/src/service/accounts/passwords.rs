//! Password hashing: Argon2id with configurable cost for new hashes; Argon2 and legacy bcrypt
//! (`$2a$`, `$2b$`, `$2y$`) hashes verify. Hashing runs on the blocking pool, never on the async runtime.
//!
//! At most [`PasswordHasher::concurrency`] hashes run at once (twice the cores), so a burst of logins
//! queues instead of allocating `memory_kib` per request without bound.
//!
//! A hash that is bcrypt, or Argon2 with other parameters than configured, is reported as needing a
//! re-hash so the service upgrades it after the next successful login.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};

use crate::config::Argon2Settings;
use crate::domain::account::Password;
use crate::service::ServiceError;

/// The result of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verification {
    /// The password matches.
    pub matches: bool,
    /// The hash should be replaced by one with the current algorithm and cost.
    pub needs_rehash: bool,
}

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct PasswordHasher {
    params: Params,
    /// A hash of a random password with the current parameters: verified against when the account is
    /// unknown, so unknown and known e-mails take the same time.
    dummy_hash: Arc<str>,
    /// Bounds concurrent hashing (and so the memory Argon2 takes).
    permits: Arc<tokio::sync::Semaphore>,
    /// Dummy verifications run so far (observed by tests).
    dummy_verifications: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Builds a hasher with the configured cost (validated by the configuration).
    pub fn new(settings: &Argon2Settings) -> Result<Self, ServiceError> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| ServiceError::internal(format!("argon2 parameters: {e}")))?;
        let dummy = hash_with(&params, "dummy password never used for any account")?;
        Ok(Self {
            params,
            dummy_hash: dummy.into(),
            permits: Arc::new(tokio::sync::Semaphore::new(Self::concurrency())),
            dummy_verifications: Arc::default(),
        })
    }

    /// How many hashes may run at once: twice the available cores.
    pub fn concurrency() -> usize {
        std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
    }

    async fn permit(&self) -> Result<tokio::sync::SemaphorePermit<'_>, ServiceError> {
        self.permits.acquire().await.map_err(ServiceError::internal)
    }

    /// Hashes a password (Argon2id, random salt) on the blocking pool.
    pub async fn hash(&self, password: &Password) -> Result<String, ServiceError> {
        let params = self.params.clone();
        let password = password.clone();
        let _permit = self.permit().await?;
        tokio::task::spawn_blocking(move || hash_with(&params, password.expose()))
            .await
            .map_err(ServiceError::internal)?
    }

    /// Verifies a password against a stored hash on the blocking pool. `None` verifies against a dummy
    /// hash (same cost) and never matches.
    ///
    /// Timing: an unknown account costs one current-cost Argon2id verification (the dummy). So that a
    /// known account with an older hash (bcrypt from an import, or Argon2 with other parameters) does
    /// not answer a wrong password faster than that, a failed check against such a hash also runs the
    /// dummy. The residual difference: such a wrong password costs the old hash's check *plus* the
    /// dummy, so it is slower than an unknown address by the old check (a cost-10 bcrypt is ~50–100 ms);
    /// it shrinks to nothing as those hashes are upgraded on login.
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<Verification, ServiceError> {
        let params = self.params.clone();
        let owned = password.clone();
        let (hash, real) = match stored {
            Some(hash) => (hash.to_owned(), true),
            None => (self.dummy_hash.to_string(), false),
        };
        if !real {
            self.count_dummy();
        }
        let verification = {
            let _permit = self.permit().await?;
            tokio::task::spawn_blocking(move || verify_with(&params, owned.expose(), &hash))
                .await
                .map_err(ServiceError::internal)?
        };
        if real && !verification.matches && verification.needs_rehash {
            let params = self.params.clone();
            let owned = password.clone();
            let dummy = self.dummy_hash.clone();
            self.count_dummy();
            let _permit = self.permit().await?;
            tokio::task::spawn_blocking(move || verify_with(&params, owned.expose(), &dummy))
                .await
                .map_err(ServiceError::internal)?;
        }
        Ok(Verification {
            matches: verification.matches && real,
            ..verification
        })
    }

    fn count_dummy(&self) {
        self.dummy_verifications
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Dummy verifications run so far (unknown accounts, and failed checks against older hashes).
    pub fn dummy_verifications(&self) -> u64 {
        self.dummy_verifications
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

fn argon2(params: &Params) -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
}

fn hash_with(params: &Params, password: &str) -> Result<String, ServiceError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2(params)
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::internal(format!("argon2 hashing failed: {e}")))
}

/// Whether a stored hash is a bcrypt hash.
pub fn is_bcrypt(hash: &str) -> bool {
    ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p))
}

fn verify_with(params: &Params, password: &str, stored: &str) -> Verification {
    if is_bcrypt(stored) {
        return Verification {
            matches: bcrypt::verify(password, stored).unwrap_or(false),
            needs_rehash: true,
        };
    }
    let Ok(parsed) = PasswordHash::new(stored) else {
        tracing::warn!("a stored password hash is in no known format");
        return Verification {
            matches: false,
            needs_rehash: false,
        };
    };
    // Verification uses the parameters inside the hash; the configured ones only decide the re-hash.
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    let current = parsed.algorithm.as_str() == "argon2id"
        && Params::try_from(&parsed).is_ok_and(|p| {
            p.m_cost() == params.m_cost()
                && p.t_cost() == params.t_cost()
                && p.p_cost() == params.p_cost()
        });
    Verification {
        matches,
        needs_rehash: !current,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Argon2Settings {
        Argon2Settings {
            memory_kib: 64,
            iterations: 1,
            parallelism: 1,
        }
    }

    #[tokio::test]
    async fn argon2id_and_bcrypt_hashes_verify() {
        let hasher = PasswordHasher::new(&cheap()).unwrap();
        let pw = Password::parse("correct horse battery".into()).unwrap();
        let wrong = Password::parse("incorrect horse".into()).unwrap();
        let hash = hasher.hash(&pw).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{hash}");
        let ok = hasher.verify(&pw, Some(&hash)).await.unwrap();
        assert_eq!(
            ok,
            Verification {
                matches: true,
                needs_rehash: false
            }
        );
        assert!(!hasher.verify(&wrong, Some(&hash)).await.unwrap().matches);
        assert!(!hasher.verify(&pw, None).await.unwrap().matches);

        let legacy = bcrypt::hash("correct horse battery", 4).unwrap();
        let ok = hasher.verify(&pw, Some(&legacy)).await.unwrap();
        assert_eq!(
            ok,
            Verification {
                matches: true,
                needs_rehash: true
            }
        );
        for prefix in ["$2a$", "$2y$"] {
            let variant = legacy.replacen("$2b$", prefix, 1);
            assert!(
                hasher.verify(&pw, Some(&variant)).await.unwrap().matches,
                "{prefix}"
            );
        }

        // Unknown accounts are checked against a dummy hash of the same cost, so they take as long.
        let dummy = PasswordHash::new(&hasher.dummy_hash).unwrap();
        let parsed = PasswordHash::new(&hash).unwrap();
        assert_eq!(dummy.algorithm, parsed.algorithm);
        assert_eq!(
            Params::try_from(&dummy).unwrap(),
            Params::try_from(&parsed).unwrap()
        );

        let stronger = PasswordHasher::new(&Argon2Settings {
            memory_kib: 128,
            ..cheap()
        })
        .unwrap();
        assert!(
            stronger
                .verify(&pw, Some(&hash))
                .await
                .unwrap()
                .needs_rehash
        );
    }

    #[tokio::test]
    async fn a_failed_check_against_an_older_hash_also_runs_the_dummy() {
        let hasher = PasswordHasher::new(&cheap()).unwrap();
        let pw = Password::parse("correct horse battery".into()).unwrap();
        let wrong = Password::parse("incorrect horse".into()).unwrap();
        let current = hasher.hash(&pw).await.unwrap();
        let legacy = bcrypt::hash("correct horse battery", 4).unwrap();
        let older = PasswordHasher::new(&Argon2Settings {
            memory_kib: 128,
            ..cheap()
        })
        .unwrap()
        .hash(&pw)
        .await
        .unwrap();

        // Unknown account: the dummy.
        hasher.verify(&wrong, None).await.unwrap();
        assert_eq!(hasher.dummy_verifications(), 1);
        // Current hash, wrong or right: that check alone.
        hasher.verify(&wrong, Some(&current)).await.unwrap();
        hasher.verify(&pw, Some(&current)).await.unwrap();
        assert_eq!(hasher.dummy_verifications(), 1);
        // Older hashes: a failure runs the dummy as well, a success does not.
        assert!(!hasher.verify(&wrong, Some(&legacy)).await.unwrap().matches);
        assert_eq!(hasher.dummy_verifications(), 2);
        assert!(!hasher.verify(&wrong, Some(&older)).await.unwrap().matches);
        assert_eq!(hasher.dummy_verifications(), 3);
        assert!(hasher.verify(&pw, Some(&legacy)).await.unwrap().matches);
        assert_eq!(hasher.dummy_verifications(), 3);
    }
}
