//! Secrets linernotes makes for itself and keeps in the database, so every instance on it uses the
//! same ones (the access-token signing key when none is configured).

use async_trait::async_trait;

use super::PgAccountRepo;
use crate::store::StoreError;

/// Persistence of generated secrets.
#[async_trait]
pub trait SecretRepo: Send + Sync {
    /// The secret called `name`: the one kept, or `candidate` when none was (then it is kept). Instances
    /// starting together agree: the first write wins and every one answers it.
    async fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError>;
}

#[async_trait]
impl SecretRepo for PgAccountRepo {
    async fn shared_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        sqlx::query(
            "INSERT INTO server_secret (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(candidate)
        .execute(&self.pool)
        .await?;
        Ok(
            sqlx::query_scalar("SELECT value FROM server_secret WHERE name = $1")
                .bind(name)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
