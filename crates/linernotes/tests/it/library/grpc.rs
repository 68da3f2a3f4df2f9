//! Every library method over gRPC, and what a second user may see of the first one's data.

use linernotes::grpc::pb;
use linernotes::grpc::pb::library_service_client::LibraryServiceClient;
use tonic::transport::Channel;
use tonic::Code;

use super::{mb, spawn, track_id};
use crate::bodies::TRACK;
use crate::helpers::*;

async fn library_client(app: &TestApp) -> LibraryServiceClient<Channel> {
    LibraryServiceClient::new(app.channel().await)
}

#[tokio::test]
async fn every_library_method_works_over_grpc() {
    let app = spawn().await;
    let (ada_id, ada) = user(&app, "ada@example.org").await;
    let (_, bob) = user(&app, "bob@example.org").await;
    let mut client = library_client(&app).await;

    // Favourites.
    let favorite = client
        .add_favorite(bearer(
            pb::FavoriteRequest {
                id: mb(TRACK),
                r#type: "track".into(),
            },
            &ada,
        ))
        .await
        .expect("add favourite")
        .into_inner();
    assert_eq!(favorite.id, mb(TRACK));
    assert_eq!(favorite.name, "First");
    let page = client
        .list_favorites(bearer(pb::ListFavoritesRequest::default(), &ada))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(page.total, 1);
    let theirs = client
        .list_favorites(bearer(pb::ListFavoritesRequest::default(), &bob))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(theirs.total, 0);
    client
        .remove_favorite(bearer(
            pb::FavoriteRequest {
                id: mb(TRACK),
                r#type: String::new(),
            },
            &ada,
        ))
        .await
        .expect("remove");
    let missing_type = client
        .add_favorite(bearer(
            pb::FavoriteRequest {
                id: mb(TRACK),
                r#type: String::new(),
            },
            &ada,
        ))
        .await
        .expect_err("type needed");
    assert_eq!(missing_type.code(), Code::InvalidArgument);
    let anonymous = client
        .list_favorites(pb::ListFavoritesRequest::default())
        .await
        .expect_err("token needed");
    assert_eq!(anonymous.code(), Code::Unauthenticated);

    // Playlists.
    let created = client
        .create_playlist(bearer(
            pb::CreatePlaylistRequest {
                name: "gRPC".into(),
                description: "over h2".into(),
                public: false,
            },
            &ada,
        ))
        .await
        .expect("create")
        .into_inner();
    assert_eq!(created.owner_id, ada_id);
    let added = client
        .add_playlist_items(bearer(
            pb::AddPlaylistItemsRequest {
                playlist_id: created.id.clone(),
                track_ids: vec![mb(&track_id(1)), mb(&track_id(2)), mb(&track_id(3))],
                position: None,
            },
            &ada,
        ))
        .await
        .expect("add")
        .into_inner();
    assert_eq!(added.total, 3);
    let first = added.items[0].item_id;
    let moved = client
        .move_playlist_item(bearer(
            pb::MovePlaylistItemRequest {
                playlist_id: created.id.clone(),
                item_id: first,
                position: 2,
            },
            &ada,
        ))
        .await
        .expect("move")
        .into_inner();
    assert_eq!(moved.position, 2);
    client
        .remove_playlist_item(bearer(
            pb::PlaylistItemRef {
                playlist_id: created.id.clone(),
                item_id: added.items[1].item_id,
            },
            &ada,
        ))
        .await
        .expect("remove item");
    let read = client
        .get_playlist(bearer(
            pb::GetPlaylistRequest {
                playlist_id: created.id.clone(),
                limit: None,
                offset: 0,
            },
            &ada,
        ))
        .await
        .expect("get")
        .into_inner();
    let order: Vec<(i32, String)> = read
        .items
        .iter()
        .map(|i| {
            (
                i.position,
                i.track.as_ref().map(|t| t.id.clone()).unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(order, vec![(0, mb(&track_id(3))), (1, mb(&track_id(1)))]);
    let hidden = client
        .get_playlist(bearer(
            pb::GetPlaylistRequest {
                playlist_id: created.id.clone(),
                limit: None,
                offset: 0,
            },
            &bob,
        ))
        .await
        .expect_err("private");
    assert_eq!(hidden.code(), Code::NotFound);
    let hidden = client
        .delete_playlist(bearer(
            pb::PlaylistRef {
                playlist_id: created.id.clone(),
            },
            &bob,
        ))
        .await
        .expect_err("private");
    assert_eq!(hidden.code(), Code::NotFound);
    let updated = client
        .update_playlist(bearer(
            pb::UpdatePlaylistRequest {
                playlist_id: created.id.clone(),
                name: Some("gRPC, public".into()),
                description: None,
                public: Some(true),
            },
            &ada,
        ))
        .await
        .expect("update")
        .into_inner();
    assert!(updated.public);
    assert_eq!(updated.total, 2);
    let public = client
        .get_playlist(pb::GetPlaylistRequest {
            playlist_id: created.id.clone(),
            limit: None,
            offset: 0,
        })
        .await
        .expect("public without a token")
        .into_inner();
    assert_eq!(public.name, "gRPC, public");
    let denied = client
        .update_playlist(bearer(
            pb::UpdatePlaylistRequest {
                playlist_id: created.id.clone(),
                name: Some("Bob's now".into()),
                description: None,
                public: None,
            },
            &bob,
        ))
        .await
        .expect_err("not the owner");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let mine = client
        .list_playlists(bearer(pb::ListPlaylistsRequest::default(), &ada))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(mine.total, 1);
    let out_of_range = client
        .add_playlist_items(bearer(
            pb::AddPlaylistItemsRequest {
                playlist_id: created.id.clone(),
                track_ids: vec![mb(&track_id(4))],
                position: Some(9),
            },
            &ada,
        ))
        .await
        .expect_err("out of range");
    assert_eq!(out_of_range.code(), Code::InvalidArgument);
    client
        .delete_playlist(bearer(
            pb::PlaylistRef {
                playlist_id: created.id.clone(),
            },
            &ada,
        ))
        .await
        .expect("delete");

    // Plays, history, counts, top lists.
    let play = |token: &str| {
        bearer(
            pb::RecordPlayRequest {
                track_id: mb(TRACK),
                played_at: None,
                duration_ms: Some(1000),
                client: Some("grpc".into()),
            },
            token,
        )
    };
    assert_eq!(
        client
            .record_play(play(&ada))
            .await
            .expect("play")
            .into_inner()
            .status,
        "recorded"
    );
    assert_eq!(
        client
            .record_play(play(&ada))
            .await
            .expect("play")
            .into_inner()
            .status,
        "deduplicated"
    );
    let negative = client
        .record_play(bearer(
            pb::RecordPlayRequest {
                track_id: mb(TRACK),
                played_at: None,
                duration_ms: Some(-1),
                client: None,
            },
            &ada,
        ))
        .await
        .expect_err("negative");
    assert_eq!(negative.code(), Code::InvalidArgument);
    let history = client
        .list_history(bearer(pb::ListHistoryRequest::default(), &ada))
        .await
        .expect("history")
        .into_inner();
    assert_eq!(history.plays.len(), 1);
    assert_eq!(history.plays[0].client.as_deref(), Some("grpc"));
    let counts = client
        .list_play_counts(bearer(pb::ListPlayCountsRequest::default(), &ada))
        .await
        .expect("counts")
        .into_inner();
    assert_eq!(counts.items[0].plays, 1);
    let top = client
        .top_tracks(bearer(
            pb::TopRequest {
                period: "7d".into(),
                limit: None,
            },
            &ada,
        ))
        .await
        .expect("top")
        .into_inner();
    assert_eq!(top.period, "7d");
    assert_eq!(top.items.len(), 1);
    let artists = client
        .top_artists(bearer(pb::TopRequest::default(), &ada))
        .await
        .expect("top artists")
        .into_inner();
    assert_eq!(artists.period, "30d");
    assert_eq!(artists.items.len(), 2);
    let bobs = client
        .list_history(bearer(pb::ListHistoryRequest::default(), &bob))
        .await
        .expect("history")
        .into_inner();
    assert!(bobs.plays.is_empty());

    // Playback.
    let empty = client
        .get_playback(bearer(pb::Empty {}, &ada))
        .await
        .expect("playback")
        .into_inner();
    assert_eq!(empty.version, 0);
    let update = |version: i64| {
        bearer(
            pb::UpdatePlaybackRequest {
                track_id: mb(TRACK),
                position_ms: 42,
                device: "grpc".into(),
                version,
            },
            &ada,
        )
    };
    let written = client
        .update_playback(update(0))
        .await
        .expect("first")
        .into_inner();
    assert_eq!(written.version, 1);
    let stale = client.update_playback(update(0)).await.expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);
    assert!(
        stale.message().contains("\"version\":1"),
        "{}",
        stale.message()
    );

    // Search history.
    let searches = client
        .list_search_history(bearer(pb::ListSearchHistoryRequest::default(), &ada))
        .await
        .expect("search history")
        .into_inner();
    assert!(searches.items.is_empty());
    client
        .clear_search_history(bearer(pb::Empty {}, &ada))
        .await
        .expect("clear");
}
