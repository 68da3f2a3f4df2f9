//! The providers that need a key: fanart.tv and TheAudioDB artist images and biographies merged by
//! precedence, Discogs genres, styles and credits; each runs only while its key is set, and the key
//! never shows.

use serde_json::json;
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer};

use crate::bodies::*;
use crate::enrichment::{app_with, body_response, fixture};
use crate::helpers::*;
use linernotes::Settings;

/// fanart.tv (numbers as text, most liked first) supplies the artist's poster, background, logo and
/// banner ahead of TheAudioDB, whose biography is the artist's `bio` when Wikipedia has none.
#[tokio::test]
async fn fanart_and_theaudiodb_fill_artist_images_and_bio_by_precedence() {
    let upstream = MockServer::start().await;
    let app = app_with(&["fanarttv", "theaudiodb"], &upstream).await;
    mount_lookup(&app, "artist", ARTIST, artist(ARTIST, "Ada Example")).await;
    Mock::given(method("GET"))
        .and(path(format!("/music/{ARTIST}")))
        .and(query_param("api_key", "test-key"))
        .respond_with(body_response(
            &json!({"name": "Ada Example", "mbid_id": ARTIST,
                "artistthumb": [
                    {"id": "5474", "url": "https://assets.fanart.tv/fanart/music/x/artistthumb/a.jpg", "likes": "2"},
                    {"id": "5475", "url": "https://assets.fanart.tv/fanart/music/x/artistthumb/b.jpg", "likes": "7"}],
                "artistbackground": [{"id": "1", "url": "https://assets.fanart.tv/fanart/music/x/artistbackground/c.jpg", "likes": "0"}],
                "hdmusiclogo": [{"id": "2", "url": "https://assets.fanart.tv/fanart/music/x/hdmusiclogo/d.png", "likes": "1"}],
                "musicbanner": [{"id": "3", "url": "https://assets.fanart.tv/fanart/music/x/musicbanner/e.jpg", "likes": "1"}]})
            .to_string(),
        ))
        .mount(&upstream)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/json/test-key/artist-mb.php"))
        .and(query_param("i", ARTIST))
        .respond_with(body_response(
            &json!({"artists": [{"idArtist": "111239", "strArtist": "Ada Example",
                "strArtistThumb": "https://www.theaudiodb.com/images/media/artist/thumb/ada.jpg",
                "strArtistLogo": null, "strBiographyEN": "Ada Example is a singer.",
                "strBiographyDE": "Ada Example ist Sängerin.", "strBiographyFR": null}]})
            .to_string(),
        ))
        .mount(&upstream)
        .await;

    let body = app
        .read_settled(&format!("/v1/artists/musicbrainz:{ARTIST}"))
        .await;
    let images = body["images"].as_array().unwrap();
    let posters: Vec<(&str, &str)> = images
        .iter()
        .filter(|i| i["type"] == "poster")
        .map(|i| (i["source"].as_str().unwrap(), i["url"].as_str().unwrap()))
        .collect();
    assert_eq!(posters.len(), 3, "{body}");
    assert_eq!(posters[0].0, "fanarttv");
    assert!(posters[0].1.ends_with("/b.jpg"), "the most liked first");
    assert_eq!(posters[2].0, "theaudiodb");
    for image_type in ["fanart", "logo", "banner"] {
        assert!(
            images.iter().any(|i| i["type"] == image_type),
            "{image_type}: {body}"
        );
    }
    assert_eq!(body["sources"]["images.poster"]["provider"], "fanarttv");
    assert_eq!(body["bio"]["source"], "theaudiodb");
    assert_eq!(body["bio"]["language"], "en");
    assert_eq!(body["bio"]["summary"], "Ada Example is a singer.");
    let (_, german) = app
        .get(&format!("/v1/artists/musicbrainz:{ARTIST}?lang=de"))
        .await;
    assert_eq!(german["bio"]["summary"], "Ada Example ist Sängerin.");
}

/// A release linked to Discogs gains its genres, styles and credits from the recorded release body.
#[tokio::test]
async fn discogs_gives_genres_styles_and_credits() {
    let upstream = MockServer::start().await;
    let app = app_with(&["discogs"], &upstream).await;
    let mut body = release(RELEASE);
    body["relations"] = json!([{"type": "discogs", "target-type": "url", "direction": "forward",
        "attributes": [], "begin": null, "end": null, "ended": false, "source-credit": "", "target-credit": "",
        "url": {"id": "6a0f8f0e-0000-4000-8000-000000000009", "resource": "https://www.discogs.com/release/11578434"}}]);
    mount_lookup(&app, "release", RELEASE, body).await;
    let recorded = fixture(
        "other/discogs/harmony--releases-11578434.json",
        json!({"id": 11578434, "title": "The Enchanted Wood", "year": 2011,
               "genres": ["Non-Music"], "styles": ["Audiobook"],
               "extraartists": [{"name": "Kate Winslet", "anv": "", "join": "", "role": "Read By", "tracks": "", "id": 152511}],
               "tracklist": [{"position": "", "type_": "heading", "title": "The Enchanted Wood", "duration": ""},
                             {"position": "1-1", "type_": "track", "title": "Untitled", "duration": ""}]}),
    );
    Mock::given(method("GET"))
        .and(path("/releases/11578434"))
        .and(query_param("token", "test-token"))
        .respond_with(body_response(&recorded))
        .expect(1)
        .mount(&upstream)
        .await;
    let answer = app
        .read_settled(&format!("/v1/releases/musicbrainz:{RELEASE}"))
        .await;
    assert_eq!(
        answer["attributes"]["genre"],
        json!(["Non-Music"]),
        "{answer}"
    );
    assert_eq!(answer["attributes"]["styles"], json!(["Audiobook"]));
    assert_eq!(answer["attributes"]["credits"][0]["role"], "Read By");
    assert_eq!(answer["sources"]["styles"]["provider"], "discogs");
    assert!(answer["links"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["id"] == "discogs:11578434" && l["method"] == "url_relation"));
}

/// Without keys the keyed providers are not built (never called); with one set it runs, and the key
/// shows as `***` in the effective configuration.
#[tokio::test]
async fn keyed_providers_run_only_with_their_key_which_never_shows() {
    let plain = TestApp::spawn().await;
    let (_, status) = plain.get("/v1/status").await;
    let names: Vec<&str> = status["providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["musicbrainz"]);

    let upstream = MockServer::start().await;
    let app = app_with(&["fanarttv"], &upstream).await;
    let (_, status) = app.get("/v1/status").await;
    assert!(status["providers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "fanarttv"));
    assert!(!status.to_string().contains("test-key"));

    let env = [(
        "LINERNOTES__PROVIDERS__FANARTTV__API_KEY".to_owned(),
        "secret-fanart-key".to_owned(),
    )]
    .into_iter()
    .collect();
    let settings = Settings::load_from(None, &env).unwrap();
    assert!(settings.providers.fanarttv.own.enabled());
    let shown = serde_json::to_string(&settings).unwrap();
    assert!(!shown.contains("secret-fanart-key"));
    assert!(format!("{settings:?}").find("secret-fanart-key").is_none());
}
