//! The `linernotes.v1.MetadataService` adapter: parse the request, call the service, convert the answer.

use tonic::{Request, Response, Status};

use super::{observed, pb};
use crate::domain::{
    Album, AlbumPage, Alias, Artist, CreditedArtist, Freshness, Label, LifeSpan, Mbid, Record,
    Release, SearchPage, TagCount, Track, UrlRelation,
};
use crate::service::{AccountService, LibraryService, MetadataService};

/// Serves `MetadataService` from the service layer.
#[derive(Clone)]
pub struct MetadataAdapter {
    service: MetadataService,
    /// Search history (issue 4): searches with a bearer token go through the library.
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

    /// Remembers searches made with a bearer token in the user's search history (issue 4).
    pub fn with_search_history(
        mut self,
        library: LibraryService,
        accounts: AccountService,
    ) -> Self {
        self.history = Some((library, accounts));
        self
    }
}

#[tonic::async_trait]
impl pb::metadata_service_server::MetadataService for MetadataAdapter {
    async fn get_artist(
        &self,
        request: Request<pb::GetEntityRequest>,
    ) -> Result<Response<pb::Artist>, Status> {
        observed("GetArtist", async {
            let r = request.into_inner();
            Ok(Response::new(artist(
                self.service.get_artist(&r.id, r.refresh).await?,
            )))
        })
        .await
    }

    async fn get_album(
        &self,
        request: Request<pb::GetEntityRequest>,
    ) -> Result<Response<pb::Album>, Status> {
        observed("GetAlbum", async {
            let r = request.into_inner();
            let record = self.service.get_album(&r.id, r.refresh).await?;
            Ok(Response::new(album(record.entity, Some(record.freshness))))
        })
        .await
    }

    async fn get_release(
        &self,
        request: Request<pb::GetEntityRequest>,
    ) -> Result<Response<pb::Release>, Status> {
        observed("GetRelease", async {
            let r = request.into_inner();
            Ok(Response::new(release(
                self.service.get_release(&r.id, r.refresh).await?,
            )))
        })
        .await
    }

    async fn get_track(
        &self,
        request: Request<pb::GetEntityRequest>,
    ) -> Result<Response<pb::Track>, Status> {
        observed("GetTrack", async {
            let r = request.into_inner();
            Ok(Response::new(track(
                self.service.get_track(&r.id, r.refresh).await?,
            )))
        })
        .await
    }

    async fn get_label(
        &self,
        request: Request<pb::GetEntityRequest>,
    ) -> Result<Response<pb::Label>, Status> {
        observed("GetLabel", async {
            let r = request.into_inner();
            Ok(Response::new(label(
                self.service.get_label(&r.id, r.refresh).await?,
            )))
        })
        .await
    }

    async fn list_artist_albums(
        &self,
        request: Request<pb::ListArtistAlbumsRequest>,
    ) -> Result<Response<pb::ListArtistAlbumsResponse>, Status> {
        observed("ListArtistAlbums", async {
            let r = request.into_inner();
            let page = self
                .service
                .list_artist_albums(&r.id, r.limit, r.offset, r.refresh)
                .await?;
            Ok(Response::new(album_page(page)))
        })
        .await
    }

    async fn search(
        &self,
        request: Request<pb::SearchRequest>,
    ) -> Result<Response<pb::SearchResponse>, Status> {
        observed("Search", async {
            let authorization = request
                .metadata()
                .get("authorization")
                .map(|v| v.to_str().unwrap_or("").to_owned());
            let r = request.into_inner();
            let page = match (&self.history, authorization) {
                // Without a token, or without a library: plain search.
                (None, _) | (_, None) => {
                    self.service
                        .search(&r.query, Some(&r.r#type), r.limit, Some(r.offset))
                        .await?
                }
                (Some((library, accounts)), Some(header)) => {
                    let viewer = accounts.authenticate(Some(&header)).await?;
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
            };
            Ok(Response::new(search_page(page)))
        })
        .await
    }
}

fn id(mbid: Mbid) -> String {
    mbid.to_entity_id().to_string()
}

fn ids(record_ids: &[crate::domain::EntityId]) -> Vec<String> {
    record_ids.iter().map(ToString::to_string).collect()
}

fn freshness(f: Freshness) -> pb::Freshness {
    pb::Freshness {
        fetched_at: f
            .fetched_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        stale: f.stale,
    }
}

fn life_span(l: LifeSpan) -> pb::LifeSpan {
    pb::LifeSpan {
        begin: l.begin,
        end: l.end,
        ended: l.ended,
    }
}

fn aliases(list: Vec<Alias>) -> Vec<pb::Alias> {
    list.into_iter()
        .map(|a| pb::Alias {
            name: a.name,
            sort_name: a.sort_name,
            locale: a.locale,
            primary: a.primary,
            r#type: a.alias_type,
        })
        .collect()
}

fn tags(list: Vec<TagCount>) -> Vec<pb::TagCount> {
    list.into_iter()
        .map(|t| pb::TagCount {
            name: t.name,
            count: t.count,
        })
        .collect()
}

fn urls(list: Vec<UrlRelation>) -> Vec<pb::UrlRelation> {
    list.into_iter()
        .map(|u| pb::UrlRelation {
            r#type: u.relation_type,
            url: u.url,
        })
        .collect()
}

fn credits(list: Vec<CreditedArtist>) -> Vec<pb::ArtistCredit> {
    list.into_iter()
        .map(|c| pb::ArtistCredit {
            name: c.name,
            artist_id: id(c.artist_id),
            join_phrase: c.join_phrase,
        })
        .collect()
}

fn artist(record: Record<Artist>) -> pb::Artist {
    let a = record.entity;
    pb::Artist {
        id: id(a.id),
        external_ids: ids(&a.external_ids),
        disambiguation: a.disambiguation,
        freshness: Some(freshness(record.freshness)),
        name: a.name,
        sort_name: a.sort_name,
        r#type: a.artist_type,
        gender: a.gender,
        country: a.country,
        life_span: Some(life_span(a.life_span)),
        area: a.area,
        aliases: aliases(a.aliases),
        genres: tags(a.genres),
        tags: tags(a.tags),
        urls: urls(a.urls),
    }
}

/// Albums appear alone (with freshness) and in lists (without).
fn album(a: Album, fresh: Option<Freshness>) -> pb::Album {
    pb::Album {
        id: id(a.id),
        external_ids: ids(&a.external_ids),
        disambiguation: a.disambiguation,
        freshness: fresh.map(freshness),
        title: a.title,
        primary_type: a.primary_type,
        secondary_types: a.secondary_types,
        first_release_date: a.first_release_date,
        artist_credit: credits(a.artist_credit),
        artist_credit_name: a.artist_credit_name,
        genres: tags(a.genres),
        tags: tags(a.tags),
        urls: urls(a.urls),
    }
}

fn release(record: Record<Release>) -> pb::Release {
    let r = record.entity;
    pb::Release {
        id: id(r.id),
        external_ids: ids(&r.external_ids),
        disambiguation: r.disambiguation,
        freshness: Some(freshness(record.freshness)),
        title: r.title,
        status: r.status,
        date: r.date,
        country: r.country,
        barcode: r.barcode,
        packaging: r.packaging,
        album_id: r.album_id.map(id),
        artist_credit: credits(r.artist_credit),
        artist_credit_name: r.artist_credit_name,
        labels: r
            .labels
            .into_iter()
            .map(|l| pb::ReleaseLabel {
                label_id: l.label_id.map(id),
                name: l.name,
                catalog_number: l.catalog_number,
            })
            .collect(),
        media: r
            .media
            .into_iter()
            .map(|m| pb::Medium {
                position: m.position,
                format: m.format,
                title: m.title,
                tracks: m
                    .tracks
                    .into_iter()
                    .map(|t| pb::ReleaseTrack {
                        position: t.position,
                        number: t.number,
                        title: t.title,
                        length_ms: t.length_ms,
                        track_id: t.track_id.map(id),
                        artist_credit_name: t.artist_credit_name,
                    })
                    .collect(),
            })
            .collect(),
        genres: tags(r.genres),
        tags: tags(r.tags),
        urls: urls(r.urls),
    }
}

fn track(record: Record<Track>) -> pb::Track {
    let t = record.entity;
    pb::Track {
        id: id(t.id),
        external_ids: ids(&t.external_ids),
        disambiguation: t.disambiguation,
        freshness: Some(freshness(record.freshness)),
        title: t.title,
        length_ms: t.length_ms,
        isrcs: t.isrcs,
        artist_credit: credits(t.artist_credit),
        artist_credit_name: t.artist_credit_name,
        first_release_date: t.first_release_date,
        genres: tags(t.genres),
        tags: tags(t.tags),
        urls: urls(t.urls),
    }
}

fn label(record: Record<Label>) -> pb::Label {
    let l = record.entity;
    pb::Label {
        id: id(l.id),
        external_ids: ids(&l.external_ids),
        disambiguation: l.disambiguation,
        freshness: Some(freshness(record.freshness)),
        name: l.name,
        sort_name: l.sort_name,
        r#type: l.label_type,
        country: l.country,
        label_code: l.label_code,
        life_span: Some(life_span(l.life_span)),
        aliases: aliases(l.aliases),
        genres: tags(l.genres),
        tags: tags(l.tags),
        urls: urls(l.urls),
    }
}

fn album_page(page: AlbumPage) -> pb::ListArtistAlbumsResponse {
    pb::ListArtistAlbumsResponse {
        albums: page.albums.into_iter().map(|a| album(a, None)).collect(),
        total: page.total,
        offset: page.offset,
    }
}

fn search_page(page: SearchPage) -> pb::SearchResponse {
    pb::SearchResponse {
        results: page
            .results
            .into_iter()
            .map(|h| pb::SearchHit {
                id: id(h.id),
                entity_type: h.entity_type.as_str().to_owned(),
                name: h.name,
                score: h.score,
                disambiguation: h.disambiguation,
            })
            .collect(),
        total: page.total,
        offset: page.offset,
    }
}
