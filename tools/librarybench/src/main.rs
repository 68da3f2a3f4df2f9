//! `linernotes-librarybench`: measures the user library of a running linernotes over its HTTP API, on a
//! database filled by `scripts/library_benchgen.sql` (1,000 users, 1,000,000 plays, 10,000 playlists,
//! one with 5,000 items). Run it through `scripts/library_bench.sh`, which starts a release build on a
//! fresh database, fills it, runs this, and drops the database.
//!
//! It measures, printing a Markdown table:
//! - recording plays: `--plays` POST /v1/me/plays from `--concurrency` concurrent clients (plays/s);
//! - a page of history (50 plays) of typical users and of the heavy user;
//! - top tracks of the last 30 days of typical users and of the heavy user;
//! - adding one track in the middle of the 5,000-item playlist.
//!
//! Generated users have no usable password; the benchmark registers one account and copies its password
//! hash onto them (loopback database only), then logs in as them.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use serde_json::{json, Value};

const PASSWORD: &str = "library benchmark password";

/// Command line.
#[derive(Parser)]
#[command(about = "Library benchmark against a running linernotes (see scripts/library_bench.sh)")]
struct Args {
    /// Base URL of the HTTP API.
    #[arg(long, default_value = "http://127.0.0.1:18480")]
    http: String,
    /// The database the server uses (filled by scripts/library_benchgen.sql).
    #[arg(long)]
    database_url: String,
    /// Plays recorded in the throughput run.
    #[arg(long, default_value_t = 20_000)]
    plays: u64,
    /// Concurrent clients recording plays.
    #[arg(long, default_value_t = 32)]
    concurrency: u64,
    /// Requests per latency measurement.
    #[arg(long, default_value_t = 300)]
    samples: usize,
}

struct Summary {
    n: usize,
    p50: Duration,
    p99: Duration,
    max: Duration,
}

fn summarise(mut samples: Vec<Duration>) -> Summary {
    samples.sort();
    let n = samples.len();
    let at = |q: f64| {
        let index = ((n as f64 * q).ceil() as usize).clamp(1, n.max(1)) - 1;
        samples.get(index).copied().unwrap_or_default()
    };
    Summary {
        n,
        p50: at(0.50),
        p99: at(0.99),
        max: samples.last().copied().unwrap_or_default(),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn track(n: u64) -> String {
    format!("musicbrainz:00000000-0000-4000-b000-{:012x}", n % 2000)
}

async fn login(client: &reqwest::Client, http: &str, email: &str) -> anyhow::Result<String> {
    let response = client
        .post(format!("{http}/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await?;
    let status = response.status();
    let body: Value = response.json().await?;
    if !status.is_success() {
        bail!("login of {email} failed: {status} {body}");
    }
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token in the login answer")
}

/// Sends one request and checks its status; answers its latency.
async fn timed(request: reqwest::RequestBuilder, expect: u16) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let response = request.send().await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?;
    let took = started.elapsed();
    if status != expect {
        bail!(
            "expected {expect}, got {status}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    Ok(took)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let http = args.http.trim_end_matches('/').to_owned();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let pool = sqlx::PgPool::connect(&args.database_url)
        .await
        .context("connect to the benchmark database")?;

    // One real account; its password hash is copied onto the generated users.
    let response = client
        .post(format!("{http}/v1/auth/register"))
        .json(&json!({"email": "writer@bench.invalid", "password": PASSWORD, "display_name": "Bench"}))
        .send()
        .await?;
    if !matches!(response.status().as_u16(), 201 | 409) {
        bail!("register failed: {}", response.status());
    }
    let copied = sqlx::query(
        "UPDATE users SET password_hash = (SELECT password_hash FROM users WHERE email = 'writer@bench.invalid') \
         WHERE email LIKE 'bench-%@bench.invalid'",
    )
    .execute(&pool)
    .await?
    .rows_affected();
    if copied < 1000 {
        bail!("expected 1,000 generated users, found {copied}; run scripts/library_benchgen.sql first");
    }
    let heavy = login(&client, &http, "bench-1@bench.invalid").await?;
    let owner = login(&client, &http, "bench-2@bench.invalid").await?;
    let mut typical = Vec::new();
    for n in 10..26 {
        typical.push(login(&client, &http, &format!("bench-{n}@bench.invalid")).await?);
    }
    let mut writers = Vec::new();
    for n in 100..132 {
        writers.push(login(&client, &http, &format!("bench-{n}@bench.invalid")).await?);
    }
    let writers = Arc::new(writers);

    // Plays: warm the track cache with one play per track, then the timed run. Every play has its own
    // played_at, 31 s from any other, so none is de-duplicated.
    let base = chrono::Utc::now();
    let counter = Arc::new(AtomicU64::new(0));
    let run = |total: u64, counter: Arc<AtomicU64>| {
        let mut workers = Vec::new();
        for w in 0..args.concurrency {
            let (client, http, writers, counter) = (
                client.clone(),
                http.clone(),
                writers.clone(),
                counter.clone(),
            );
            workers.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let k = counter.fetch_add(1, Ordering::Relaxed);
                    if k >= total {
                        break;
                    }
                    let token = &writers[(w as usize) % writers.len()];
                    let played_at = base - chrono::Duration::seconds(31 * (k as i64 + 1));
                    let request = client
                        .post(format!("{http}/v1/me/plays"))
                        .bearer_auth(token)
                        .json(&json!({"track_id": track(k), "played_at": played_at.to_rfc3339(), "client": "bench"}));
                    latencies.push(timed(request, 200).await?);
                }
                anyhow::Ok(latencies)
            }));
        }
        workers
    };
    for worker in run(2000, counter.clone()) {
        worker.await??;
    }
    let timed_counter = Arc::new(AtomicU64::new(counter.load(Ordering::Relaxed).min(2000)));
    let total = 2000 + args.plays;
    let started = Instant::now();
    let mut play_latencies = Vec::new();
    for worker in run(total, timed_counter) {
        play_latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    let rate = args.plays as f64 / elapsed.as_secs_f64();
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM play WHERE client = 'bench'")
        .fetch_one(&pool)
        .await?;
    let plays = summarise(play_latencies);

    // History pages.
    let mut history = Vec::new();
    for s in 0..args.samples {
        let token = &typical[s % typical.len()];
        history.push(
            timed(
                client
                    .get(format!("{http}/v1/me/history?limit=50"))
                    .bearer_auth(token),
                200,
            )
            .await?,
        );
    }
    let mut history_heavy = Vec::new();
    for _ in 0..args.samples {
        history_heavy.push(
            timed(
                client
                    .get(format!(
                        "{http}/v1/me/history?limit=50&before=2026-06-01T00:00:00Z"
                    ))
                    .bearer_auth(&heavy),
                200,
            )
            .await?,
        );
    }

    // Top tracks, 30 days.
    let mut top = Vec::new();
    for s in 0..args.samples {
        let token = &typical[s % typical.len()];
        top.push(
            timed(
                client
                    .get(format!("{http}/v1/me/top/tracks?period=30d"))
                    .bearer_auth(token),
                200,
            )
            .await?,
        );
    }
    let mut top_heavy = Vec::new();
    for _ in 0..args.samples {
        top_heavy.push(
            timed(
                client
                    .get(format!("{http}/v1/me/top/tracks?period=30d"))
                    .bearer_auth(&heavy),
                200,
            )
            .await?,
        );
    }

    // Middle inserts into the 5,000-item playlist.
    let (playlist, mut count): (uuid::Uuid, i32) = sqlx::query_as(
        "SELECT p.id, p.item_count FROM playlist p JOIN users u ON u.id = p.owner_id \
         WHERE u.email = 'bench-2@bench.invalid' ORDER BY p.item_count DESC LIMIT 1",
    )
    .fetch_one(&pool)
    .await?;
    let mut inserts = Vec::new();
    for s in 0..args.samples {
        let position = count / 2;
        inserts.push(
            timed(
                client
                    .post(format!("{http}/v1/playlists/{playlist}/items"))
                    .bearer_auth(&owner)
                    .json(&json!({"track_ids": [track(s as u64)], "position": position})),
                201,
            )
            .await?,
        );
        count += 1;
    }
    let dense: (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT rank) FROM playlist_item WHERE playlist_id = $1",
    )
    .bind(playlist)
    .fetch_one(&pool)
    .await?;

    println!("| measurement | n | p50 | p99 | max | target |");
    println!("|---|---|---|---|---|---|");
    let row = |name: &str, s: &Summary, target: &str| {
        println!(
            "| {name} | {} | {} | {} | {} | {target} |",
            s.n,
            ms(s.p50),
            ms(s.p99),
            ms(s.max)
        );
    };
    row(
        &format!(
            "record a play ({} concurrent clients): **{rate:.0} plays/s**",
            args.concurrency
        ),
        &plays,
        "≥ 2,000 plays/s",
    );
    row(
        "history page (50), typical users",
        &summarise(history),
        "p99 < 10 ms",
    );
    row(
        "history page (50), heavy user (100k plays), mid-year",
        &summarise(history_heavy),
        "p99 < 10 ms",
    );
    row("top tracks 30 d, typical users", &summarise(top), "< 50 ms");
    row(
        "top tracks 30 d, heavy user (~8,000 plays in 30 d)",
        &summarise(top_heavy),
        "< 50 ms",
    );
    row(
        "add 1 track in the middle of the 5,000-item playlist",
        &summarise(inserts),
        "p99 < 10 ms",
    );
    println!();
    println!(
        "plays stored by the run: {stored} (expected {}); playlist now {} items, {} distinct ranks",
        total, dense.0, dense.1
    );
    Ok(())
}
