//! `dumpgen`: writes a MusicBrainz JSON dump folder of a chosen size (see the library for the shapes).

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;
use dumpgen::{write_dump, DumpSpec};

/// Writes `<entity>.tar.xz` archives and `SHA256SUMS` shaped like the MusicBrainz JSON dumps.
#[derive(Parser)]
#[command(name = "dumpgen")]
struct Args {
    /// Folder to write into (created when missing).
    #[arg(long, default_value = "dump")]
    out: PathBuf,
    /// Number of artists; the other types follow the real dump's proportions unless given.
    #[arg(long, default_value_t = 1000)]
    artists: u64,
    /// Number of labels.
    #[arg(long)]
    labels: Option<u64>,
    /// Number of release groups.
    #[arg(long)]
    release_groups: Option<u64>,
    /// Number of releases.
    #[arg(long)]
    releases: Option<u64>,
    /// Number of recordings.
    #[arg(long)]
    recordings: Option<u64>,
    /// Only these entity types (comma-separated: artist,label,release-group,release,recording).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// xz preset, 0–9 (the real dumps use 6; 1 is much faster to write).
    #[arg(long, default_value_t = 1)]
    xz_level: u32,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut spec = DumpSpec::proportional(args.artists);
    spec.labels = args.labels.unwrap_or(spec.labels);
    spec.release_groups = args.release_groups.unwrap_or(spec.release_groups);
    spec.releases = args.releases.unwrap_or(spec.releases);
    spec.recordings = args.recordings.unwrap_or(spec.recordings);
    spec.seed = args.seed;
    spec.xz_level = args.xz_level;
    let only: Vec<&str> = args.only.iter().map(String::as_str).collect();
    let started = Instant::now();
    let summary = write_dump(&args.out, &spec, &only)?;
    println!(
        "wrote {} archives to {}: {} bytes compressed, {} bytes of JSON, in {:.1} s",
        summary.archives.len(),
        args.out.display(),
        summary.compressed_bytes,
        summary.json_bytes,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
