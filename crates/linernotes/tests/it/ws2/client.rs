//! A real MusicBrainz client, the `musicbrainz_rs` crate, pointed at linernotes: lookups with
//! includes, browse, search and not-found, each parsed by the client's own types.

use musicbrainz_rs::client::MusicBrainzClient;
use musicbrainz_rs::entity::artist::Artist;
use musicbrainz_rs::entity::recording::Recording;
use musicbrainz_rs::entity::release::{Release, ReleaseSearchQuery};
use musicbrainz_rs::prelude::*;
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::Mock;

use crate::bodies::*;
use crate::helpers::*;

/// A release as MusicBrainz answers it today: media carry their own IDs (which this client needs).
fn current_release() -> Value {
    let mut body = release(RELEASE);
    for (n, medium) in body["media"]
        .as_array_mut()
        .expect("media")
        .iter_mut()
        .enumerate()
    {
        medium["id"] = json!(format!("7e1d0000-0000-4000-8000-0000000000{n:02}"));
    }
    body
}

/// A `musicbrainz_rs` client whose MusicBrainz is the app.
fn client_of(app: &TestApp) -> MusicBrainzClient {
    let mut client = MusicBrainzClient::new("linernotes-tests/1.0 ( tests@linernotes.invalid )");
    client.musicbrainz_authority = app.http.trim_start_matches("http://").to_owned();
    client.musicbrainz_use_https = false;
    client
}

/// Runs the blocking client off the async runtime.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(work)
        .await
        .expect("the client ran")
}

#[tokio::test]
async fn musicbrainz_rs_looks_up_browses_searches_and_hears_not_found() {
    let app = TestApp::spawn().await;
    mount_lookup(&app, "release", RELEASE, current_release()).await;
    mount_lookup(&app, "recording", TRACK, track(TRACK)).await;
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    let unknown = "2c5ebd4a-7f63-4b9a-9e3c-4d8fa06b3cff";
    Mock::given(method("GET"))
        .and(path(format!("/ws/2/release/{unknown}")))
        .respond_with(error_response(404, "Not Found"))
        .mount(&app.mock)
        .await;
    let mut listed = current_release();
    for key in ["media", "relations", "genres", "tags"] {
        listed.as_object_mut().unwrap().remove(key);
    }
    Mock::given(method("GET"))
        .and(path("/ws/2/release"))
        .and(query_param("release-group", ALBUM))
        .respond_with(json_response(
            &json!({"release-count": 1, "release-offset": 0, "releases": [listed]}),
        ))
        .mount(&app.mock)
        .await;
    let client = client_of(&app);

    let (release, recording, artist, missing) = blocking(move || {
        let release = Release::fetch()
            .id(RELEASE)
            .with_recordings()
            .with_artist_credits()
            .with_labels()
            .with_release_groups()
            .execute_with_client(&client);
        let recording = Recording::fetch()
            .id(TRACK)
            .with_isrcs()
            .with_artists()
            .execute_with_client(&client);
        let artist = Artist::fetch()
            .id(ARTIST)
            .with_aliases()
            .with_tags()
            .execute_with_client(&client);
        // (A release: this client reads MusicBrainz's error body as an artist whose every field
        // is defaulted, from linernotes as from MusicBrainz.)
        let missing = Release::fetch().id(unknown).execute_with_client(&client);
        (release, recording, artist, missing)
    })
    .await;
    let release = release.expect("the release parses");
    assert_eq!(release.title, "Partial Dates (Deluxe)");
    assert_eq!(release.release_group.expect("release group").id, ALBUM);
    assert_eq!(release.barcode.as_deref(), Some("0602577684647"));
    let media = release.media.expect("media");
    let tracks = media[0].tracks.as_ref().expect("tracks");
    assert_eq!(tracks[0].number, "A1");
    assert_eq!(tracks[0].recording.as_ref().expect("recording").id, TRACK);
    assert_eq!(release.label_info.expect("labels").len(), 2);
    let credit = release.artist_credit.expect("credit");
    assert_eq!(credit[0].joinphrase.as_deref(), Some(" feat. "));

    let recording = recording.expect("the recording parses");
    assert_eq!(
        recording.isrcs.expect("isrcs"),
        vec!["GBAAA9900001", "GBAAA9900002"]
    );
    let artist = artist.expect("the artist parses");
    assert_eq!(artist.aliases.expect("aliases").len(), 2);
    assert!(artist.genres.is_none(), "genres were not asked for");

    let missing = missing.expect_err("an unknown release is an error");
    assert!(
        missing
            .as_musicbrainz_error()
            .is_some_and(|e| e.is_not_found()),
        "{missing:?}"
    );

    let client = client_of(&app);
    let (browsed, found) = blocking(move || {
        let browsed = Release::browse()
            .by_release_group(ALBUM)
            .execute_with_client(&client);
        let query = ReleaseSearchQuery::query_builder()
            .release("Partial Dates")
            .build();
        let found = Release::search(query).execute_with_client(&client);
        (browsed, found)
    })
    .await;
    let browsed = browsed.expect("the browse page parses");
    assert_eq!((browsed.count, browsed.offset), (1, 0));
    assert_eq!(browsed.entities[0].id, RELEASE);
    let found = found.expect("the search page parses");
    assert_eq!(found.count, 1);
    assert_eq!(found.entities[0].id, RELEASE);
    assert_eq!(found.entities[0].title, "Partial Dates (Deluxe)");
}
