//! The README's examples run as written: every ```` ```sh tested ```` block, in order, as one shell
//! script against a running linernotes (its address put in for `localhost:8080`, the test build of the
//! binary for `target/release/linernotes`) with a mock MusicBrainz that knows the entities the examples
//! name. Any failed request fails the test.

use std::path::Path;
use std::process::Command;

use serde_json::json;
use wiremock::matchers::{method, path, path_regex, query_param};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use crate::bodies::*;
use crate::helpers::*;

/// Answers a lookup with the body `make` builds for the MBID at the end of the path.
struct ById(fn(&str) -> serde_json::Value);

impl Respond for ById {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let id = request.url.path().rsplit('/').next().unwrap_or_default();
        json_response(&(self.0)(id))
    }
}

/// The shell code of every `sh tested` block of `markdown`, in order.
fn tested_blocks(markdown: &str) -> String {
    let mut script = String::new();
    let mut inside = false;
    for line in markdown.lines() {
        if inside {
            if line.trim_start().starts_with("```") {
                inside = false;
            } else {
                script.push_str(line);
                script.push('\n');
            }
        } else if line.trim() == "```sh tested" {
            inside = true;
        }
    }
    script
}

#[tokio::test]
async fn the_readme_examples_run_as_written() {
    if !Path::new("/usr/bin/jq").exists() {
        assert!(
            std::env::var_os("LINERNOTES_REQUIRE_TOOLS").is_none(),
            "LINERNOTES_REQUIRE_TOOLS is set but jq is not installed"
        );
        eprintln!("README examples skipped: they use jq (apt-get install jq)");
        return;
    }
    let app = TestApp::spawn().await;
    let release_id = "2c5ebd4a-7f63-4b9a-9e3c-4d8fa06b3c01";
    let recording = "b1a9c0e9-d987-4042-ae91-78d6a3267d69";
    for (entity, make) in [
        (
            "artist",
            (|id: &str| artist(id, "Nirvana")) as fn(&str) -> _,
        ),
        ("release", release as fn(&str) -> _),
        ("recording", track as fn(&str) -> _),
    ] {
        Mock::given(method("GET"))
            .and(path_regex(format!("^/ws/2/{entity}/[0-9a-f-]{{36}}$")))
            .respond_with(ById(make))
            .mount(&app.mock)
            .await;
    }
    Mock::given(method("GET"))
        .and(path("/ws/2/release"))
        .and(query_param("query", "barcode:0602577684647"))
        .respond_with(json_response(&json!({
            "created": "2026-11-27T00:00:00.000Z", "count": 1, "offset": 0,
            "releases": [{"id": release_id, "title": "Partial Dates (Deluxe)", "score": 100}]
        })))
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ws/2/isrc/USRC17607839"))
        .respond_with(json_response(&isrc("USRC17607839", &[recording])))
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ws/2/release-group"))
        .respond_with(json_response(&album_browse(
            vec![album_summary(ALBUM, "Bleach", "1989-06-15")],
            1,
            0,
        )))
        .mount(&app.mock)
        .await;
    Mock::given(method("GET"))
        .and(path("/ws/2/artist"))
        .respond_with(json_response(&artist_search(&[(
            "5b11f4ce-a62d-471e-81fc-a69a8278c7da",
            "Nirvana",
            100,
        )])))
        .mount(&app.mock)
        .await;

    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md"))
            .expect("README.md");
    let examples = tested_blocks(&readme);
    assert!(examples.contains("curl"), "the README has tested examples");
    let script = format!(
        "set -euo pipefail\n\
         # A request that fails fails the examples.\n\
         curl() {{ command curl --fail-with-body \"$@\"; }}\n{}",
        examples
            .replace("localhost:8080", app.http.trim_start_matches("http://"))
            .replace(
                "target/release/linernotes",
                env!("CARGO_BIN_EXE_linernotes")
            )
    );
    let work = std::env::temp_dir().join(format!("readme-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).expect("work dir");
    let database_url = app.database.url();
    let ran = tokio::task::spawn_blocking({
        let work = work.clone();
        move || {
            let mut shell = Command::new("bash");
            shell.arg("-c").arg(script).current_dir(&work);
            for (key, _) in std::env::vars() {
                if key.starts_with("LINERNOTES") || key == "DATABASE_URL" || key == "RUST_LOG" {
                    shell.env_remove(key);
                }
            }
            shell
                .env("LINERNOTES__DATABASE__URL", database_url)
                .env("LINERNOTES__AUTH__ARGON2__MEMORY_KIB", "64")
                .env("LINERNOTES__AUTH__ARGON2__ITERATIONS", "1")
                .env("LINERNOTES__SEARCH__INDEX_DIR", "")
                .output()
                .expect("run bash")
        }
    })
    .await
    .expect("examples");
    let _ = std::fs::remove_dir_all(&work);
    assert!(
        ran.status.success(),
        "the README's examples failed:\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&ran.stdout),
        String::from_utf8_lossy(&ran.stderr)
    );
    let pool = app.pool().await;
    let disabled: bool = sqlx::query_scalar(
        "SELECT disabled_at IS NOT NULL FROM users WHERE email = 'ada@example.org'",
    )
    .fetch_one(&pool)
    .await
    .expect("ada");
    assert!(disabled, "the last example disabled ada");
}
