//! The `loadgen` binary: parses the command line, calls [`loadgen::run`] and prints the
//! report (as text, or as JSON with `--json`).

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use loadgen::{parse_duration, Config};

/// Drives one unary gRPC method of a local linernotes at a fixed rate or as fast as possible, and
/// reports throughput and latency percentiles (HDR histogram).
///
/// Examples:
///   loadgen --method /grpc.health.v1.Health/Check --data '{}' --duration 10s
///   loadgen --method /linernotes.v1.MetadataService/GetArtist \
///           --data '{"id":"musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da"}' --rate 2000 --warmup 2s
#[derive(Debug, Parser)]
#[command(version, about, verbatim_doc_comment)]
struct Args {
    /// Server address (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    addr: String,
    /// Full method path, /package.Service/Method; any unary method of linernotes or grpc.health.v1.
    #[arg(long)]
    method: String,
    /// The request message as protobuf JSON.
    #[arg(long, default_value = "{}")]
    data: String,
    /// Separate HTTP/2 connections (tonic Channels).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    connections: u32,
    /// Requests in flight at most.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    concurrency: u32,
    /// How long to measure, e.g. 10s, 500ms, 2m [default: 10s unless --requests is given].
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// How many requests to measure (with --duration too, whichever comes first).
    #[arg(long)]
    requests: Option<u64>,
    /// Requests per second on a fixed timeline (open loop; latency counts from the intended send
    /// time). Without it, requests are sent as fast as the server answers (closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Load sent before measuring, not counted.
    #[arg(long, default_value = "0s", value_parser = parse_duration)]
    warmup: Duration,
    /// Per-request timeout; slower requests count as DEADLINE_EXCEEDED.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

impl Args {
    /// The library configuration; `--duration` defaults to 10 s when `--requests` is not given.
    fn into_config(self) -> Config {
        let duration = match (self.duration, self.requests) {
            (None, None) => Some(Duration::from_secs(10)),
            (duration, _) => duration,
        };
        Config {
            addr: self.addr,
            method: self.method,
            data: self.data,
            connections: self.connections as usize,
            concurrency: self.concurrency as usize,
            duration,
            requests: self.requests,
            rate: self.rate,
            warmup: self.warmup,
            timeout: self.timeout,
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let json = args.json;
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("loadgen: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let report = match runtime.block_on(loadgen::run(args.into_config())) {
        Ok(report) => report,
        Err(err) => {
            eprintln!("loadgen: {err}");
            return ExitCode::from(2);
        }
    };
    let summary = report.summary();
    if json {
        match serde_json::to_string_pretty(&summary) {
            Ok(text) => println!("{text}"),
            Err(err) => {
                eprintln!("loadgen: cannot write JSON: {err}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{summary}");
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("loadgen").chain(args.iter().copied()))
    }

    #[test]
    fn defaults_run_closed_loop_for_ten_seconds() {
        let config = parse(&["--method", "/grpc.health.v1.Health/Check"])
            .expect("parses")
            .into_config();
        assert_eq!(config.addr, "http://127.0.0.1:50051");
        assert_eq!(config.data, "{}");
        assert_eq!((config.connections, config.concurrency), (4, 32));
        assert_eq!(config.duration, Some(Duration::from_secs(10)));
        assert_eq!(config.requests, None);
        assert_eq!(config.rate, None);
        assert_eq!(config.warmup, Duration::ZERO);
        assert!(config.validate().is_ok());
    }

    #[test]
    fn every_option_is_read() {
        let args = parse(&[
            "--addr",
            "http://localhost:6000",
            "--method",
            "/linernotes.v1.MetadataService/GetArtist",
            "--data",
            r#"{"id":"musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da"}"#,
            "--connections",
            "2",
            "--concurrency",
            "8",
            "--duration",
            "1500ms",
            "--requests",
            "1000",
            "--rate",
            "250.5",
            "--warmup",
            "2s",
            "--timeout",
            "1m",
            "--json",
        ])
        .expect("parses");
        assert!(args.json);
        let config = args.into_config();
        assert_eq!(config.addr, "http://localhost:6000");
        assert_eq!((config.connections, config.concurrency), (2, 8));
        assert_eq!(config.duration, Some(Duration::from_millis(1500)));
        assert_eq!(config.requests, Some(1000));
        assert_eq!(config.rate, Some(250.5));
        assert_eq!(config.warmup, Duration::from_secs(2));
        assert_eq!(config.timeout, Duration::from_secs(60));
    }

    #[test]
    fn a_request_count_alone_sets_no_duration() {
        let config = parse(&["--method", "/x.Y/Z", "--requests", "200"])
            .expect("parses")
            .into_config();
        assert_eq!(config.duration, None);
        assert_eq!(config.requests, Some(200));
    }

    #[test]
    fn bad_arguments_are_rejected() {
        assert!(parse(&[]).is_err(), "--method is required");
        assert!(parse(&["--method", "/x.Y/Z", "--duration", "10 parsecs"]).is_err());
        assert!(parse(&["--method", "/x.Y/Z", "--connections", "0"]).is_err());
        assert!(parse(&["--method", "/x.Y/Z", "--rate", "fast"]).is_err());
    }
}
