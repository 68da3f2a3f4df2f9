//! The `linernotes.v1.MetadataService` adapter: parse the request, call the service, convert the answer.
//!
//! [`MetadataServer`] is the service as served: the lookups (`GetArtist`, `GetAlbum`, `GetRelease`,
//! `GetTrack`, `GetLabel`) answer the record's protobuf message, encoded once per shared record and
//! kept beside it, so a hot-cache hit encodes nothing; the other methods go through the generated
//! server. Conversions borrow the service's answer.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use prost::Message;
use tonic::codegen::{http, Body, BoxFuture, Context, Poll, Service, StdError};
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

use super::pb;
use crate::cache::CachedRecord;
use crate::config::metadata::is_language_code;
use crate::domain::enrichment::{Enriched, Link};
use crate::domain::{
    format_timestamp, Album, AlbumPage, Alias, Artist, CreditedArtist, Entity, EntityId,
    EntityKind, Freshness, Label, LifeSpan, Mbid, Record, Release, SearchPage, TagCount, Track,
    UrlRelation,
};
use crate::service::{AccountService, LibraryService, MetadataService, ServiceError};
use linernotes_proto::codec::PreEncodedCodec;

/// Sets what other providers add on an entity message (every entity message has the same fields).
macro_rules! enrich {
    ($message:expr, $enriched:expr) => {{
        let mut message = $message;
        let parts = enriched_parts($enriched);
        message.images = parts.images;
        message.bio = parts.bio;
        message.previews = parts.previews;
        message.links = parts.links;
        message.attributes = parts.attributes.into_iter().collect();
        message.sources = parts.sources.into_iter().collect();
        message
    }};
}

/// What other providers add, as the fields every entity message shares.
struct EnrichedParts {
    images: Vec<pb::Image>,
    bio: Option<pb::Bio>,
    previews: Vec<pb::Preview>,
    links: Vec<pb::Link>,
    attributes: Vec<(String, String)>,
    sources: Vec<(String, pb::Source)>,
}

fn enriched_parts(e: &Enriched) -> EnrichedParts {
    EnrichedParts {
        images: e
            .images
            .iter()
            .map(|i| pb::Image {
                r#type: i.image_type.as_str().to_owned(),
                url: i.url.clone(),
                width: i.width,
                height: i.height,
                thumbnails: i.thumbnails.clone().into_iter().collect(),
                source: i.source.clone(),
            })
            .collect(),
        bio: e.bio.as_ref().map(|b| pb::Bio {
            summary: b.summary.clone(),
            url: b.url.clone(),
            language: b.language.clone(),
            source: b.source.clone(),
        }),
        previews: e
            .previews
            .iter()
            .map(|p| pb::Preview {
                url: p.url.clone(),
                source: p.source.clone(),
            })
            .collect(),
        links: links(&e.links),
        attributes: e
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        sources: e
            .sources
            .iter()
            .map(|(field, s)| {
                (
                    field.clone(),
                    pb::Source {
                        provider: s.provider.clone(),
                        fetched_at: format_timestamp(s.fetched_at),
                        conflicts: s.conflicts.clone(),
                    },
                )
            })
            .collect(),
    }
}

/// Serves `MetadataService` from the service layer.
#[derive(Clone)]
pub struct MetadataAdapter {
    service: MetadataService,
    /// Search history: searches with a bearer token go through the library.
    history: Option<(LibraryService, AccountService)>,
}

impl MetadataAdapter {
    /// Wraps the service.
    pub fn new(service: MetadataService) -> Self {
        Self {
            service,
            history: None,
        }
    }

    /// Remembers searches made with a bearer token in the user's search history.
    pub fn with_search_history(
        mut self,
        library: LibraryService,
        accounts: AccountService,
    ) -> Self {
        self.history = Some((library, accounts));
        self
    }

    /// Gets one entity of `kind` (summary in the request's language) and converts it with `convert`.
    async fn get<T>(
        &self,
        kind: EntityKind,
        request: Request<pb::GetEntityRequest>,
        convert: fn(&Record<Entity>) -> Option<T>,
    ) -> Result<Response<T>, Status> {
        let r = request.into_inner();
        let record = self.lookup(kind, &r).await?;
        convert(&record).map(Response::new).ok_or_else(|| {
            ServiceError::internal(format!("{kind} lookup answered another kind")).into()
        })
    }

    /// Gets one entity of `kind` as its encoded protobuf message, encoded once per shared record.
    async fn get_encoded(
        &self,
        kind: EntityKind,
        request: Request<pb::GetEntityRequest>,
    ) -> Result<Response<Bytes>, Status> {
        let r = request.into_inner();
        let record = self.lookup(kind, &r).await?;
        if record.entity.kind() != kind {
            return Err(
                ServiceError::internal(format!("{kind} lookup answered another kind")).into(),
            );
        }
        Ok(Response::new(record.protobuf(encode)))
    }
}

impl MetadataAdapter {
    /// The record a lookup request asks for, its summary in the request's language when one is set.
    async fn lookup(
        &self,
        kind: EntityKind,
        r: &pb::GetEntityRequest,
    ) -> Result<CachedRecord, Status> {
        let lang = r.lang.trim();
        if lang.is_empty() {
            return Ok(self.service.get(kind, &r.id, r.refresh).await?);
        }
        if !is_language_code(lang) {
            return Err(ServiceError::invalid(format!(
                "lang must be a language code such as en or pt-br, got '{lang}'"
            ))
            .into());
        }
        Ok(self
            .service
            .get_in(kind, &r.id, r.refresh, &[lang.to_owned()])
            .await?)
    }
}

/// The protobuf message of a record: the same message the generated lookup methods answer.
fn encode(record: &Record<Entity>) -> Bytes {
    let fresh = record.freshness;
    let e = &record.enriched;
    let message = match &record.entity {
        Entity::Artist(a) => enrich!(artist(a, fresh), e).encode_to_vec(),
        Entity::Album(a) => enrich!(album(a, Some(fresh)), e).encode_to_vec(),
        Entity::Release(r) => enrich!(release(r, fresh), e).encode_to_vec(),
        Entity::Track(t) => enrich!(track(t, fresh), e).encode_to_vec(),
        Entity::Label(l) => enrich!(label(l, fresh), e).encode_to_vec(),
    };
    Bytes::from(message)
}

/// The lookups answered pre-encoded: request path and entity kind.
const LOOKUPS: [(&str, EntityKind); 5] = [
    (
        "/linernotes.v1.MetadataService/GetArtist",
        EntityKind::Artist,
    ),
    ("/linernotes.v1.MetadataService/GetAlbum", EntityKind::Album),
    (
        "/linernotes.v1.MetadataService/GetRelease",
        EntityKind::Release,
    ),
    ("/linernotes.v1.MetadataService/GetTrack", EntityKind::Track),
    ("/linernotes.v1.MetadataService/GetLabel", EntityKind::Label),
];

/// `linernotes.v1.MetadataService` as served (see the module documentation).
#[derive(Clone)]
pub struct MetadataServer {
    adapter: Arc<MetadataAdapter>,
    generated: pb::metadata_service_server::MetadataServiceServer<MetadataAdapter>,
    max_message_bytes: usize,
}

impl MetadataServer {
    /// Serves `adapter`, refusing request messages over `max_message_bytes`.
    pub fn new(adapter: MetadataAdapter, max_message_bytes: usize) -> Self {
        let adapter = Arc::new(adapter);
        Self {
            generated: pb::metadata_service_server::MetadataServiceServer::from_arc(
                adapter.clone(),
            )
            .max_decoding_message_size(max_message_bytes),
            adapter,
            max_message_bytes,
        }
    }
}

impl NamedService for MetadataServer {
    const NAME: &'static str =
        <pb::metadata_service_server::MetadataServiceServer<MetadataAdapter> as NamedService>::NAME;
}

impl<B> Service<http::Request<B>> for MetadataServer
where
    B: Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let path = request.uri().path();
        let Some(&(_, kind)) = LOOKUPS.iter().find(|(lookup, _)| *lookup == path) else {
            return self.generated.call(request);
        };
        let lookup = Lookup {
            adapter: self.adapter.clone(),
            kind,
        };
        let max_message_bytes = self.max_message_bytes;
        Box::pin(async move {
            let mut grpc = Grpc::new(PreEncodedCodec::<pb::GetEntityRequest>::default())
                .apply_max_message_size_config(Some(max_message_bytes), None);
            Ok(grpc.unary(lookup, request).await)
        })
    }
}

/// One pre-encoded lookup method.
struct Lookup {
    adapter: Arc<MetadataAdapter>,
    kind: EntityKind,
}

impl UnaryService<pb::GetEntityRequest> for Lookup {
    type Response = Bytes;
    type Future = BoxFuture<Response<Bytes>, Status>;

    fn call(&mut self, request: Request<pb::GetEntityRequest>) -> Self::Future {
        let (adapter, kind) = (self.adapter.clone(), self.kind);
        Box::pin(async move { adapter.get_encoded(kind, request).await })
    }
}

#[tonic::async_trait]
impl pb::metadata_service_server::MetadataService for MetadataAdapter {
    async fn get_artist(
        &self,
        request: Request<pb::GetEntityRequest>,
    ) -> Result<Response<pb::Artist>, Status> {
        self.get(EntityKind::Artist, request, |r| match &r.entity {
            Entity::Artist(a) => Some(enrich!(artist(a, r.freshness), &r.enriched)),
            _ => None,
        })
        .await
    }

    async fn get_album(
        &self,
        request: Request<pb::GetEntityRequest>,
    ) -> Result<Response<pb::Album>, Status> {
        self.get(EntityKind::Album, request, |r| match &r.entity {
            Entity::Album(a) => Some(enrich!(album(a, Some(r.freshness)), &r.enriched)),
            _ => None,
        })
        .await
    }

    async fn get_release(
        &self,
        request: Request<pb::GetEntityRequest>,
    ) -> Result<Response<pb::Release>, Status> {
        self.get(EntityKind::Release, request, |r| match &r.entity {
            Entity::Release(e) => Some(enrich!(release(e, r.freshness), &r.enriched)),
            _ => None,
        })
        .await
    }

    async fn get_track(
        &self,
        request: Request<pb::GetEntityRequest>,
    ) -> Result<Response<pb::Track>, Status> {
        self.get(EntityKind::Track, request, |r| match &r.entity {
            Entity::Track(t) => Some(enrich!(track(t, r.freshness), &r.enriched)),
            _ => None,
        })
        .await
    }

    async fn get_label(
        &self,
        request: Request<pb::GetEntityRequest>,
    ) -> Result<Response<pb::Label>, Status> {
        self.get(EntityKind::Label, request, |r| match &r.entity {
            Entity::Label(l) => Some(enrich!(label(l, r.freshness), &r.enriched)),
            _ => None,
        })
        .await
    }

    async fn list_artist_albums(
        &self,
        request: Request<pb::ListArtistAlbumsRequest>,
    ) -> Result<Response<pb::ListArtistAlbumsResponse>, Status> {
        let r = request.into_inner();
        let page = self
            .service
            .list_artist_albums(&r.id, r.limit, r.offset, r.refresh)
            .await?;
        Ok(Response::new(album_page(&page)))
    }

    async fn search(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        let viewer = match &self.history {
            Some((_, accounts)) => super::auth::optional_principal(accounts, &request).await?,
            None => None,
        };
        let r = request.into_inner();
        let page = match (&self.history, viewer) {
            (Some((library, _)), Some(viewer)) => {
                library
                    .search(
                        Some(&viewer),
                        &r.query,
                        Some(&r.r#type),
                        r.limit,
                        Some(r.offset),
                    )
                    .await?
            }
            // Without a token, or without a library: plain search.
            _ => {
                self.service
                    .search(&r.query, Some(&r.r#type), r.limit, Some(r.offset))
                    .await?
            }
        };
        Ok(Response::new(search_page(&page)))
    }

    async fn resolve_ids(
        &self,
        request: Request<pb::ResolveIdsRequest>,
    ) -> Result<Response<pb::ResolveIdsResponse>, Status> {
        let r = request.into_inner();
        let results = self.service.resolve_ids(&r.ids, Some(&r.r#type)).await?;
        Ok(Response::new(pb::ResolveIdsResponse {
            results: results
                .into_iter()
                .map(|res| pb::Resolution {
                    input: res.input,
                    status: res.status.as_str().to_owned(),
                    id: res.id.map(|id| id.to_string()),
                    r#type: res.kind.map(|k| k.as_str().to_owned()),
                    reason: res.reason,
                })
                .collect(),
        }))
    }

    async fn get_lyrics(
        &self,
        request: Request<pb::GetEntityRequest>,
    ) -> Result<Response<pb::Lyrics>, Status> {
        let lyrics = self.service.lyrics(&request.into_inner().id).await?;
        Ok(Response::new(pb::Lyrics {
            plain: lyrics.plain,
            synced: lyrics.synced,
            instrumental: lyrics.instrumental,
            source: lyrics.source,
        }))
    }

    async fn get_links(
        &self,
        request: Request<pb::GetLinksRequest>,
    ) -> Result<Response<pb::GetLinksResponse>, Status> {
        let r = request.into_inner();
        let kind = r.r#type.parse::<EntityKind>().map_err(|_| {
            ServiceError::invalid(format!(
                "type must be artist, album, release, track or label, got '{}'",
                r.r#type
            ))
        })?;
        let (mbid, found) = self.service.links(kind, &r.id).await?;
        Ok(Response::new(pb::GetLinksResponse {
            id: id(mbid),
            links: links(&found),
        }))
    }
}

fn links(list: &[Link]) -> Vec<pb::Link> {
    list.iter()
        .map(|l| pb::Link {
            platform: l.platform.clone(),
            id: l.id.clone(),
            url: l.url.clone(),
            method: l.method.as_str().to_owned(),
            confidence: l.confidence,
        })
        .collect()
}

fn id(mbid: Mbid) -> String {
    mbid.to_entity_id().to_string()
}

fn ids(record_ids: &[EntityId]) -> Vec<String> {
    record_ids.iter().map(ToString::to_string).collect()
}

fn freshness(f: Freshness) -> pb::Freshness {
    pb::Freshness {
        fetched_at: format_timestamp(f.fetched_at),
        stale: f.stale,
    }
}

fn life_span(l: &LifeSpan) -> pb::LifeSpan {
    pb::LifeSpan {
        begin: l.begin.clone(),
        end: l.end.clone(),
        ended: l.ended,
    }
}

fn aliases(list: &[Alias]) -> Vec<pb::Alias> {
    list.iter()
        .map(|a| pb::Alias {
            name: a.name.clone(),
            sort_name: a.sort_name.clone(),
            locale: a.locale.clone(),
            primary: a.primary,
            r#type: a.alias_type.clone(),
        })
        .collect()
}

fn tags(list: &[TagCount]) -> Vec<pb::TagCount> {
    list.iter()
        .map(|t| pb::TagCount {
            name: t.name.clone(),
            count: t.count,
        })
        .collect()
}

fn urls(list: &[UrlRelation]) -> Vec<pb::UrlRelation> {
    list.iter()
        .map(|u| pb::UrlRelation {
            r#type: u.relation_type.clone(),
            url: u.url.clone(),
        })
        .collect()
}

fn credits(list: &[CreditedArtist]) -> Vec<pb::ArtistCredit> {
    list.iter()
        .map(|c| pb::ArtistCredit {
            name: c.name.clone(),
            artist_id: id(c.artist_id),
            join_phrase: c.join_phrase.clone(),
        })
        .collect()
}

fn artist(a: &Artist, fresh: Freshness) -> pb::Artist {
    pb::Artist {
        id: id(a.id),
        external_ids: ids(&a.external_ids),
        disambiguation: a.disambiguation.clone(),
        freshness: Some(freshness(fresh)),
        name: a.name.clone(),
        sort_name: a.sort_name.clone(),
        r#type: a.artist_type.clone(),
        gender: a.gender.clone(),
        country: a.country.clone(),
        life_span: Some(life_span(&a.life_span)),
        area: a.area.clone(),
        aliases: aliases(&a.aliases),
        genres: tags(&a.genres),
        tags: tags(&a.tags),
        urls: urls(&a.urls),
        ..Default::default()
    }
}

/// Albums appear alone (with freshness) and in lists (without).
fn album(a: &Album, fresh: Option<Freshness>) -> pb::Album {
    pb::Album {
        id: id(a.id),
        external_ids: ids(&a.external_ids),
        disambiguation: a.disambiguation.clone(),
        freshness: fresh.map(freshness),
        title: a.title.clone(),
        primary_type: a.primary_type.clone(),
        secondary_types: a.secondary_types.clone(),
        first_release_date: a.first_release_date.clone(),
        artist_credit: credits(&a.artist_credit),
        artist_credit_name: a.artist_credit_name.clone().unwrap_or_default(),
        genres: tags(&a.genres),
        tags: tags(&a.tags),
        urls: urls(&a.urls),
        ..Default::default()
    }
}

fn release(r: &Release, fresh: Freshness) -> pb::Release {
    pb::Release {
        id: id(r.id),
        external_ids: ids(&r.external_ids),
        disambiguation: r.disambiguation.clone(),
        freshness: Some(freshness(fresh)),
        title: r.title.clone(),
        status: r.status.clone(),
        date: r.date.clone(),
        country: r.country.clone(),
        barcode: r.barcode.clone(),
        packaging: r.packaging.clone(),
        album_id: r.album_id.map(id),
        artist_credit: credits(&r.artist_credit),
        artist_credit_name: r.artist_credit_name.clone().unwrap_or_default(),
        labels: r
            .labels
            .iter()
            .map(|l| pb::ReleaseLabel {
                label_id: l.label_id.map(id),
                name: l.name.clone(),
                catalog_number: l.catalog_number.clone(),
            })
            .collect(),
        media: r
            .media
            .iter()
            .map(|m| pb::Medium {
                position: m.position,
                format: m.format.clone(),
                title: m.title.clone(),
                tracks: m
                    .tracks
                    .iter()
                    .map(|t| pb::ReleaseTrack {
                        position: t.position,
                        number: t.number.clone(),
                        title: t.title.clone(),
                        length_ms: t.length_ms,
                        track_id: t.track_id.map(id),
                        artist_credit_name: t.artist_credit_name.clone().unwrap_or_default(),
                        release_track_id: t.release_track_id.map(id),
                        artist_id: t.artist_id.map(id),
                    })
                    .collect(),
            })
            .collect(),
        genres: tags(&r.genres),
        tags: tags(&r.tags),
        urls: urls(&r.urls),
        ..Default::default()
    }
}

fn track(t: &Track, fresh: Freshness) -> pb::Track {
    pb::Track {
        id: id(t.id),
        external_ids: ids(&t.external_ids),
        disambiguation: t.disambiguation.clone(),
        freshness: Some(freshness(fresh)),
        title: t.title.clone(),
        length_ms: t.length_ms,
        isrcs: t.isrcs.clone(),
        artist_credit: credits(&t.artist_credit),
        artist_credit_name: t.artist_credit_name.clone().unwrap_or_default(),
        first_release_date: t.first_release_date.clone(),
        genres: tags(&t.genres),
        tags: tags(&t.tags),
        urls: urls(&t.urls),
        ..Default::default()
    }
}

fn label(l: &Label, fresh: Freshness) -> pb::Label {
    pb::Label {
        id: id(l.id),
        external_ids: ids(&l.external_ids),
        disambiguation: l.disambiguation.clone(),
        freshness: Some(freshness(fresh)),
        name: l.name.clone(),
        sort_name: l.sort_name.clone(),
        r#type: l.label_type.clone(),
        country: l.country.clone(),
        label_code: l.label_code,
        life_span: Some(life_span(&l.life_span)),
        aliases: aliases(&l.aliases),
        genres: tags(&l.genres),
        tags: tags(&l.tags),
        urls: urls(&l.urls),
        ..Default::default()
    }
}

fn album_page(page: &AlbumPage) -> pb::ListArtistAlbumsResponse {
    pb::ListArtistAlbumsResponse {
        albums: page.albums.iter().map(|a| album(a, None)).collect(),
        total: page.total,
        offset: page.offset,
    }
}

fn search_page(page: &SearchPage) -> pb::SearchResponse {
    pb::SearchResponse {
        results: page
            .results
            .iter()
            .map(|h| pb::SearchHit {
                id: id(h.id),
                entity_type: h.entity_type.as_str().to_owned(),
                name: h.name.clone(),
                score: h.score,
                disambiguation: h.disambiguation.clone(),
            })
            .collect(),
        total: page.total,
        offset: page.offset,
    }
}
