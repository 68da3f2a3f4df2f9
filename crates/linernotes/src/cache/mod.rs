//! The hot cache in front of the database: an in-process tier (moka, bounded in bytes), then Redis when
//! configured.
//!
//! Keys follow the seed policy and name the provider (platform) whose ID or answer they hold:
//! `artist:{platform}:{id}` (and `album:`, `release:`, `track:`, `label:`) for entities,
//! `search:{query}:{platform}` for search pages, `body:artist:{platform}:{id}` (…) for the provider's
//! stored body of an entity as the WS/2 API re-serves it (dropped with the entity), `status:{platform}` for a provider's health as each
//! instance reports it (a Redis hash, one field per instance); in Redis every key also carries the
//! namespace and schema version ([`crate::support::redis::RedisHandle::key`]). Values are the API's
//! JSON, so what one release wrote, the same release reads. Invalidations are published on a Redis
//! channel so every instance drops its in-process copy. Redis trouble (down, slow, garbage) never fails
//! a lookup: it is counted and the lookup falls through to the next tier.
//!
//! An entity is kept as a [`Cached`] record: the record and its answers as bytes (JSON, protobuf),
//! each encoded at most once per cached copy, so a hit answers without encoding anything.

use std::ops::Deref;
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use moka::Expiry;
use serde::de::DeserializeOwned;
use tokio::task::JoinHandle;

use crate::config::CacheSettings;
use crate::domain::provider::ReportedHealth;
use crate::domain::{
    Album, Artist, Entity, EntityKind, Label, Mbid, Record, Release, SearchPage, SearchQuery, Track,
};
use crate::support::metrics::HandleCache;
use crate::support::redis::RedisHandle;

/// A record as the hot cache shares it: the record and its wire encodings.
#[derive(Debug)]
pub struct Cached<T> {
    /// The record.
    pub value: T,
    /// Its answers as bytes, each filled by whoever first needs it.
    pub encodings: Encodings,
}

/// The wire forms of one cached record, each filled once.
#[derive(Default)]
pub struct Encodings {
    /// The JSON of the record ([`Cached::json`]): the HTTP answer and the Redis copy.
    pub json: OnceLock<Bytes>,
    /// The protobuf message of the record ([`Cached::protobuf`]): the gRPC answer.
    pub protobuf: OnceLock<Bytes>,
}

impl std::fmt::Debug for Encodings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encodings")
            .field("json", &self.json.get().map(Bytes::len))
            .field("protobuf", &self.protobuf.get().map(Bytes::len))
            .finish()
    }
}

impl<T> Cached<T> {
    /// `value` with no encoding made yet.
    pub fn new(value: T) -> Self {
        Self {
            value,
            encodings: Encodings::default(),
        }
    }

    /// The protobuf answer, encoded with `encode` on first use.
    pub fn protobuf(&self, encode: impl FnOnce(&T) -> Bytes) -> Bytes {
        self.encodings
            .protobuf
            .get_or_init(|| encode(&self.value))
            .clone()
    }
}

impl<T: serde::Serialize> Cached<T> {
    /// The JSON answer, serialized on first use.
    pub fn json(&self) -> Result<Bytes, serde_json::Error> {
        if let Some(json) = self.encodings.json.get() {
            return Ok(json.clone());
        }
        let json = Bytes::from(serde_json::to_vec(&self.value)?);
        Ok(self.encodings.json.get_or_init(|| json).clone())
    }
}

impl<T> Deref for Cached<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

/// An entity record as the cache shares it.
pub type CachedRecord = Arc<Cached<Record<Entity>>>;

/// A stored MusicBrainz lookup body, as the WS/2 API serves it: the body and the request shape it
/// answered, with its rendered answers (one per requested `inc` set), each rendered once per cached
/// copy. Cached under `body:` + the entity's key and dropped with the entity.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct CachedBody {
    /// The request shape the body answered (`inc=a+b`).
    pub request: String,
    /// The body.
    pub payload: serde_json::Value,
    /// When it was fetched.
    pub fetched_at: chrono::DateTime<chrono::Utc>,
    /// Answers rendered from it, by the requested incs.
    #[serde(skip)]
    rendered: std::sync::Mutex<std::collections::HashMap<String, Bytes>>,
}

impl CachedBody {
    /// A body with nothing rendered yet.
    pub fn new(
        request: String,
        payload: serde_json::Value,
        fetched_at: chrono::DateTime<chrono::Utc>,
    ) -> Self {
        Self {
            request,
            payload,
            fetched_at,
            rendered: Default::default(),
        }
    }

    /// The answer rendered under `key`, rendering it with `render` the first time.
    pub fn rendered(&self, key: &str, render: impl FnOnce(&serde_json::Value) -> Bytes) -> Bytes {
        if let Some(bytes) = self.rendered.lock().ok().and_then(|m| m.get(key).cloned()) {
            return bytes;
        }
        let bytes = render(&self.payload);
        if let Ok(mut rendered) = self.rendered.lock() {
            rendered.insert(key.to_owned(), bytes.clone());
        }
        bytes
    }
}

/// A value of the in-process tier.
#[derive(Debug, Clone)]
pub enum CachedValue {
    /// An entity record.
    Entity(CachedRecord),
    /// A search page.
    Search(Arc<SearchPage>),
    /// A stored MusicBrainz body.
    Body(Arc<CachedBody>),
}

#[derive(Clone)]
struct LocalEntry {
    value: CachedValue,
    weight: u32,
    ttl: Duration,
}

struct PerEntryTtl;

impl Expiry<String, LocalEntry> for PerEntryTtl {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &LocalEntry,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// Which tier answered, for metrics.
const MEMORY: &str = "memory";
const REDIS: &str = "redis";

/// Lookups by tier and outcome, registered once.
static LOOKUPS: LazyLock<HandleCache<(&'static str, &'static str), metrics::Counter>> =
    LazyLock::new(Default::default);

fn count(tier: &'static str, outcome: &'static str) {
    LOOKUPS
        .get((tier, outcome), |(tier, outcome)| {
            metrics::counter!("linernotes_cache_requests_total", "tier" => tier, "outcome" => outcome)
        })
        .increment(1);
}

/// What the invalidation listener has done, for status and for tests that wait on it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListenerState {
    /// Whether it is subscribed now.
    pub subscribed: bool,
    /// Invalidations received from the channel so far.
    pub received: u64,
}

/// The two-tier hot cache.
#[derive(Clone)]
pub struct HotCache {
    local: moka::future::Cache<String, LocalEntry>,
    redis: Option<RedisHandle>,
    listener: Arc<tokio::sync::watch::Sender<ListenerState>>,
    entity_ttl: Duration,
    search_ttl: Duration,
    status_ttl: Duration,
}

impl std::fmt::Debug for HotCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotCache")
            .field("entries", &self.local.entry_count())
            .field("bytes", &self.local.weighted_size())
            .field("redis", &self.redis.is_some())
            .finish()
    }
}

/// The cache key of an entity under the ID `platform` gives it.
pub fn entity_key(kind: EntityKind, platform: &str, mbid: Mbid) -> String {
    // Built by hand: this runs on every hot read, and formatting machinery costs more than the copies.
    let kind = kind.as_str();
    let mut key = String::with_capacity(kind.len() + platform.len() + 38);
    key.push_str(kind);
    key.push(':');
    key.push_str(platform);
    key.push(':');
    key.push_str(
        mbid.as_uuid()
            .hyphenated()
            .encode_lower(&mut uuid::Uuid::encode_buffer()),
    );
    key
}

/// What the key of an entity's stored provider body starts with (then the entity's key).
const BODY_PREFIX: &str = "body:";

/// The cache key of an entity's stored provider body.
pub fn body_key(kind: EntityKind, platform: &str, mbid: Mbid) -> String {
    format!("{BODY_PREFIX}{}", entity_key(kind, platform, mbid))
}

/// The cache key of a search page as `platform` answered it.
pub fn search_key(query: &SearchQuery, platform: &str) -> String {
    format!(
        "search:{}|{}|{}|{}:{platform}",
        query.kind, query.limit, query.offset, query.text
    )
}

/// The cache key of a provider's reported health.
pub fn status_key(platform: &str) -> String {
    format!("status:{platform}")
}

/// What else to do with an invalidated key, besides dropping it from the in-process tier.
pub type OnInvalidation = Arc<dyn Fn(String) + Send + Sync>;

/// The channel invalidations are published on (before the namespace prefix).
const INVALIDATION_CHANNEL: &str = "invalidate";

impl HotCache {
    /// A cache with the configured budget and TTLs, using `redis` as second tier when given. A budget of
    /// 0 turns the in-process tier off.
    pub fn new(settings: &CacheSettings, redis: Option<RedisHandle>) -> Self {
        let local = moka::future::Cache::builder()
            .max_capacity(settings.memory_bytes)
            .weigher(|_key: &String, entry: &LocalEntry| entry.weight)
            .expire_after(PerEntryTtl)
            .build();
        Self {
            local,
            redis,
            listener: Arc::new(tokio::sync::watch::channel(ListenerState::default()).0),
            entity_ttl: Duration::from_secs(settings.ttl_secs.entity),
            search_ttl: Duration::from_secs(settings.ttl_secs.search),
            status_ttl: Duration::from_secs(settings.ttl_secs.status),
        }
    }

    /// The Redis tier, when configured.
    pub fn redis(&self) -> Option<&RedisHandle> {
        self.redis.as_ref()
    }

    /// Follows the invalidation listener's state.
    pub fn listener_state(&self) -> tokio::sync::watch::Receiver<ListenerState> {
        self.listener.subscribe()
    }

    /// Entries and weighed bytes of the in-process tier.
    pub fn local_usage(&self) -> (u64, u64) {
        (self.local.entry_count(), self.local.weighted_size())
    }

    /// An entity record under `platform`'s ID, from memory or Redis.
    pub async fn get_entity(
        &self,
        kind: EntityKind,
        platform: &str,
        mbid: Mbid,
    ) -> Option<CachedRecord> {
        if self.is_off() {
            return None;
        }
        let key = entity_key(kind, platform, mbid);
        match self
            .get(&key, |bytes| {
                decode_entity(kind, bytes).map(|r| CachedValue::Entity(Arc::new(Cached::new(r))))
            })
            .await?
        {
            CachedValue::Entity(record) => Some(record),
            _ => None,
        }
    }

    /// Stores an entity record under `platform`'s ID in both tiers.
    pub async fn put_entity(&self, kind: EntityKind, platform: &str, record: CachedRecord) {
        if self.is_off() {
            // Nothing would keep it: spare the key and the JSON encoding.
            return;
        }
        let key = entity_key(kind, platform, record.entity.mbid());
        let bytes = record.json().unwrap_or_default();
        self.put(key, CachedValue::Entity(record), bytes, self.entity_ttl)
            .await;
    }

    /// A search page as `platform` answered it, from memory or Redis.
    pub async fn get_search(&self, query: &SearchQuery, platform: &str) -> Option<Arc<SearchPage>> {
        let key = search_key(query, platform);
        match self
            .get(&key, |bytes| {
                serde_json::from_slice::<SearchPage>(bytes)
                    .ok()
                    .map(|p| CachedValue::Search(Arc::new(p)))
            })
            .await?
        {
            CachedValue::Search(page) => Some(page),
            _ => None,
        }
    }

    /// Stores a search page as `platform` answered it in both tiers.
    pub async fn put_search(&self, query: &SearchQuery, platform: &str, page: Arc<SearchPage>) {
        let bytes = Bytes::from(serde_json::to_vec(&*page).unwrap_or_default());
        self.put(
            search_key(query, platform),
            CachedValue::Search(page),
            bytes,
            self.search_ttl,
        )
        .await;
    }

    /// An entity's stored provider body under `platform`'s ID, from memory or Redis.
    pub async fn get_body(
        &self,
        kind: EntityKind,
        platform: &str,
        mbid: Mbid,
    ) -> Option<Arc<CachedBody>> {
        self.get_body_at(&body_key(kind, platform, mbid)).await
    }

    /// Stores an entity's provider body under `platform`'s ID in both tiers, for the entity TTL.
    pub async fn put_body(
        &self,
        kind: EntityKind,
        platform: &str,
        mbid: Mbid,
        body: Arc<CachedBody>,
    ) {
        self.put_body_at(body_key(kind, platform, mbid), body).await;
    }

    /// A provider body (an entity's, or a page's such as a WS/2 browse page) under `key`.
    pub async fn get_body_at(&self, key: &str) -> Option<Arc<CachedBody>> {
        if self.is_off() {
            return None;
        }
        match self
            .get(key, |bytes| {
                serde_json::from_slice::<CachedBody>(bytes)
                    .ok()
                    .map(|b| CachedValue::Body(Arc::new(b)))
            })
            .await?
        {
            CachedValue::Body(body) => Some(body),
            _ => None,
        }
    }

    /// Stores a provider body under `key` in both tiers, for the entity TTL.
    pub async fn put_body_at(&self, key: String, body: Arc<CachedBody>) {
        if self.is_off() {
            return;
        }
        let bytes = Bytes::from(serde_json::to_vec(&*body).unwrap_or_default());
        self.put(key, CachedValue::Body(body), bytes, self.entity_ttl)
            .await;
    }

    /// Drops an entity (and its provider body) everywhere: this instance's copy, the Redis copy, and
    /// (through the invalidation channel) every other instance's copy.
    pub async fn invalidate_entity(&self, kind: EntityKind, platform: &str, mbid: Mbid) {
        let key = entity_key(kind, platform, mbid);
        self.local.invalidate(&key).await;
        self.local.invalidate(&format!("{BODY_PREFIX}{key}")).await;
        if let Some(redis) = &self.redis {
            let redis_key = redis.key(&key);
            let body_key = redis.key(&format!("{BODY_PREFIX}{key}"));
            let channel = redis.key(INVALIDATION_CHANNEL);
            let _ = redis
                .run("invalidate", |mut c| async move {
                    redis::pipe()
                        .del(&redis_key)
                        .ignore()
                        .del(&body_key)
                        .ignore()
                        .publish(&channel, &key)
                        .ignore()
                        .query_async::<()>(&mut c)
                        .await
                })
                .await;
        }
    }

    /// The health of provider `platform` as each instance last reported it (`status:{platform}`, a
    /// Redis hash with one field per instance). Empty without Redis, when no instance reported within
    /// the status TTL, or on Redis trouble; fields that cannot be read are skipped.
    pub async fn reported_health(&self, platform: &str) -> Vec<ReportedHealth> {
        let Some(redis) = &self.redis else {
            return Vec::new();
        };
        let key = redis.key(&status_key(platform));
        let fields = redis
            .run("hgetall", |mut c| async move {
                redis::cmd("HGETALL")
                    .arg(&key)
                    .query_async::<Vec<(String, Vec<u8>)>>(&mut c)
                    .await
            })
            .await
            .unwrap_or_default();
        fields
            .into_iter()
            .filter_map(|(instance, json)| {
                let health = serde_json::from_slice(&json).ok();
                if health.is_none() {
                    tracing::warn!(%instance, platform, "unreadable provider health in redis");
                }
                health
            })
            .collect()
    }

    /// Reports this instance's view of provider `platform` under its own field of
    /// `status:{platform}`; the hash lives for the status TTL after the latest report.
    pub async fn report_health(&self, platform: &str, instance: &str, health: &ReportedHealth) {
        let (Some(redis), Ok(json)) = (&self.redis, serde_json::to_vec(health)) else {
            return;
        };
        let key = redis.key(&status_key(platform));
        let instance = instance.to_owned();
        let millis = u64::try_from(self.status_ttl.as_millis()).unwrap_or(u64::MAX);
        let _ = redis
            .run("hset", |mut c| async move {
                redis::pipe()
                    .atomic()
                    .hset(&key, &instance, json)
                    .ignore()
                    .pexpire(&key, i64::try_from(millis).unwrap_or(i64::MAX))
                    .ignore()
                    .query_async::<()>(&mut c)
                    .await
            })
            .await;
    }

    /// Whether neither tier keeps anything (no memory budget, no Redis).
    fn is_off(&self) -> bool {
        self.redis.is_none() && self.local.policy().max_capacity() == Some(0)
    }

    async fn get(
        &self,
        key: &str,
        decode: impl FnOnce(&[u8]) -> Option<CachedValue>,
    ) -> Option<CachedValue> {
        if let Some(entry) = self.local.get(key).await {
            count(MEMORY, "hit");
            return Some(entry.value);
        }
        count(MEMORY, "miss");
        let (value, len) = self.redis_get(key, decode).await?;
        let ttl = match value {
            CachedValue::Entity(_) | CachedValue::Body(_) => self.entity_ttl,
            CachedValue::Search(_) => self.search_ttl,
        };
        self.insert_local(key.to_owned(), value.clone(), len, ttl)
            .await;
        Some(value)
    }

    /// Reads `key` from Redis and decodes it; also answers the value's size. Counts hits, misses,
    /// unreadable values and Redis trouble.
    async fn redis_get<T>(
        &self,
        key: &str,
        decode: impl FnOnce(&[u8]) -> Option<T>,
    ) -> Option<(T, usize)> {
        let redis = self.redis.as_ref()?;
        let redis_key = redis.key(key);
        let found = redis
            .run("get", |mut c| async move {
                redis::cmd("GET")
                    .arg(&redis_key)
                    .query_async::<Option<Vec<u8>>>(&mut c)
                    .await
            })
            .await;
        match found {
            Ok(Some(bytes)) => match decode(&bytes) {
                Some(value) => {
                    count(REDIS, "hit");
                    Some((value, bytes.len()))
                }
                None => {
                    count(REDIS, "garbage");
                    tracing::warn!(key, "unreadable value in redis; ignoring it");
                    None
                }
            },
            Ok(None) => {
                count(REDIS, "miss");
                None
            }
            Err(_) => {
                count(REDIS, "error");
                None
            }
        }
    }

    async fn put(&self, key: String, value: CachedValue, bytes: Bytes, ttl: Duration) {
        self.redis_set(&key, bytes.clone(), ttl).await;
        self.insert_local(key, value, bytes.len(), ttl).await;
    }

    /// Writes `bytes` under `key` in Redis (when configured) for `ttl`; trouble is counted and ignored.
    async fn redis_set(&self, key: &str, bytes: Bytes, ttl: Duration) {
        let Some(redis) = &self.redis else {
            return;
        };
        let redis_key = redis.key(key);
        let millis = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let _ = redis
            .run("set", |mut c| async move {
                redis::cmd("SET")
                    .arg(&redis_key)
                    .arg(&bytes[..])
                    .arg("PX")
                    .arg(millis)
                    .query_async::<()>(&mut c)
                    .await
            })
            .await;
    }

    async fn insert_local(&self, key: String, value: CachedValue, bytes: usize, ttl: Duration) {
        if self.local.policy().max_capacity() == Some(0) {
            return;
        }
        // The decoded value takes about twice its JSON size in memory (strings, vectors and their
        // headers; measured with scripts/bench_cache_memory.py); an entity also keeps its JSON and,
        // once asked over gRPC, its protobuf answer (smaller than the JSON) beside it. Plus the key and
        // the cache's own bookkeeping per entry.
        let per_json_byte = match value {
            CachedValue::Entity(_) | CachedValue::Body(_) => 4,
            CachedValue::Search(_) => 2,
        };
        let weight = u32::try_from(per_json_byte * bytes + key.len() + 256).unwrap_or(u32::MAX);
        self.local
            .insert(key, LocalEntry { value, weight, ttl })
            .await;
    }

    /// Empties this instance's in-process tier (after a dump swap replaced what it holds).
    pub async fn clear_local(&self) {
        self.local.invalidate_all();
        self.local.run_pending_tasks().await;
    }

    /// Listens on the invalidation channel and drops the named keys from the in-process tier, then
    /// hands each key to `on_key` (the search index follows entities stored by other instances this
    /// way), until the returned task is aborted. Reconnects by itself after Redis trouble.
    pub fn spawn_invalidation_listener(
        &self,
        on_key: Option<OnInvalidation>,
    ) -> Option<JoinHandle<()>> {
        let redis = self.redis.clone()?;
        let local = self.local.clone();
        let state = self.listener.clone();
        Some(tokio::spawn(async move {
            let channel = redis.key(INVALIDATION_CHANNEL);
            loop {
                match redis.client().get_async_pubsub().await {
                    Ok(mut pubsub) => match pubsub.subscribe(&channel).await {
                        Ok(()) => {
                            tracing::info!(%channel, "listening for cache invalidations");
                            state.send_modify(|s| s.subscribed = true);
                            let mut messages = pubsub.on_message();
                            while let Some(message) = messages.next().await {
                                if let Ok(key) = message.get_payload::<String>() {
                                    local.invalidate(&key).await;
                                    local.invalidate(&format!("{BODY_PREFIX}{key}")).await;
                                    count(MEMORY, "invalidated");
                                    if let Some(on_key) = &on_key {
                                        on_key(key);
                                    }
                                    state.send_modify(|s| s.received += 1);
                                }
                            }
                            state.send_modify(|s| s.subscribed = false);
                            tracing::warn!("invalidation channel closed; reconnecting");
                        }
                        Err(e) => tracing::warn!(error = %e, "cannot subscribe to invalidations"),
                    },
                    Err(e) => tracing::debug!(error = %e, "redis unavailable for invalidations"),
                }
                // Back off before reconnecting; invalidations missed meanwhile expire with their TTL.
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }))
    }
}

fn decode_as<T: DeserializeOwned>(bytes: &[u8], wrap: fn(T) -> Entity) -> Option<Record<Entity>> {
    let record: Record<T> = serde_json::from_slice(bytes).ok()?;
    Some(Record::new(wrap(record.entity), record.freshness).with_enriched(record.enriched))
}

/// Reads an entity record of `kind` from its JSON.
fn decode_entity(kind: EntityKind, bytes: &[u8]) -> Option<Record<Entity>> {
    match kind {
        EntityKind::Artist => decode_as::<Artist>(bytes, Entity::Artist),
        EntityKind::Album => decode_as::<Album>(bytes, Entity::Album),
        EntityKind::Release => decode_as::<Release>(bytes, Entity::Release),
        EntityKind::Track => decode_as::<Track>(bytes, Entity::Track),
        EntityKind::Label => decode_as::<Label>(bytes, Entity::Label),
    }
}
