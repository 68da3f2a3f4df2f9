//! A load generator for any unary gRPC method of linernotes (and of `grpc.health.v1`).
//!
//! [`run`] drives one method over several connections, either as fast as possible (closed loop: each of
//! `concurrency` workers sends its next request when the previous one answered) or at a fixed rate
//! (open loop: request *k* is due at `start + k / rate`; when it goes out late because every worker was
//! still waiting for earlier answers, its latency counts from the time it was due, so a slow server
//! cannot hide its stalls by slowing the sender down: no coordinated omission). At a fixed rate a pacer
//! thread releases each request when it is due, with sub-millisecond precision.
//! It returns a [`Report`] with counts, errors by gRPC status code and an HDR histogram of latencies.
//!
//! No per-method code is needed: the request is given as JSON, encoded into protobuf with
//! `prost-reflect` from the descriptor sets compiled into linernotes, and sent with a pass-through
//! [`BytesCodec`] (the answer stays undecoded bytes).
//!
//! # Layout
//! - [`Config`] and its validation, [`parse_duration`] for `10s`-style durations;
//! - [`Target`]: the method and the encoded request, resolved from the descriptor pool;
//! - [`run`], the workers and the schedule;
//! - [`Report`] and [`Summary`] (what `--json` prints).
//!
//! Only loopback addresses are accepted: this tool is for measuring a linernotes running on the same
//! machine, and a fixed-rate flood aimed anywhere else would be a mistake.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hdrhistogram::Histogram;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage};
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tonic::codegen::http::uri::PathAndQuery;
use tonic::codegen::http::Uri;
use tonic::transport::Channel;
use tonic::{Code, Status};

use linernotes_proto::codec::BytesCodec;

/// The longest run (warm-up included) and the longest per-request timeout accepted.
pub const MAX_DURATION: Duration = Duration::from_secs(3600);

/// Highest latency the histograms track, in microseconds (beyond it values saturate).
const HISTOGRAM_MAX_MICROS: u64 = 3_600_000_000;

/// What to drive, how hard and for how long.
#[derive(Debug, Clone)]
pub struct Config {
    /// Server URI, e.g. `http://127.0.0.1:50051`; must be a loopback address.
    pub addr: String,
    /// Full method path, e.g. `/linernotes.v1.MetadataService/GetArtist`.
    pub method: String,
    /// The request message as protobuf JSON (`{}` for an empty message).
    pub data: String,
    /// Separate HTTP/2 connections (tonic `Channel`s); one connection multiplexes all streams onto a
    /// single socket, so several are needed to spread work over the server's threads.
    pub connections: usize,
    /// Requests in flight at most (one worker each); workers share the connections round-robin.
    pub concurrency: usize,
    /// Measure for this long (after the warm-up). At least one of `duration` and `requests` is set.
    pub duration: Option<Duration>,
    /// Measure this many requests (after the warm-up); with `duration` too, whichever comes first.
    pub requests: Option<u64>,
    /// Requests per second on a fixed timeline (open loop); `None` sends as fast as possible.
    pub rate: Option<f64>,
    /// Load sent before measuring starts, not counted (connections, caches and pools warm up).
    pub warmup: Duration,
    /// Per-request timeout; a request that takes longer counts as `DEADLINE_EXCEEDED`.
    pub timeout: Duration,
}

impl Config {
    /// A configuration with the CLI's defaults: 4 connections, 32 in flight, as fast as possible for
    /// 10 seconds, no warm-up, a 5 s timeout.
    pub fn new(
        addr: impl Into<String>,
        method: impl Into<String>,
        data: impl Into<String>,
    ) -> Self {
        Self {
            addr: addr.into(),
            method: method.into(),
            data: data.into(),
            connections: 4,
            concurrency: 32,
            duration: Some(Duration::from_secs(10)),
            requests: None,
            rate: None,
            warmup: Duration::ZERO,
            timeout: Duration::from_secs(5),
        }
    }

    /// Checks the numbers (not the method or the request, see [`Target::resolve`]).
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |message: &str| Err(Error::InvalidConfig(message.to_owned()));
        if self.connections == 0 {
            return invalid("connections must be at least 1");
        }
        if self.concurrency < self.connections {
            return invalid("concurrency must be at least the number of connections");
        }
        if self.duration.is_none() && self.requests.is_none() {
            return invalid("give a duration or a number of requests (or both)");
        }
        if self.duration.is_some_and(|d| d.is_zero()) || self.requests == Some(0) {
            return invalid("duration and requests must be positive");
        }
        if self.duration.unwrap_or_default() + self.warmup > MAX_DURATION {
            return invalid("duration plus warm-up must not exceed one hour");
        }
        if self.timeout.is_zero() || self.timeout > MAX_DURATION {
            return invalid("timeout must be positive and at most one hour");
        }
        if let Some(rate) = self.rate {
            // At least one request in the longest run, so every due time stays within an hour.
            if !(rate.is_finite() && rate >= 1.0 / MAX_DURATION.as_secs_f64()) {
                return invalid(
                    "rate must be a number of requests per second of at least 1/3600 (one an hour)",
                );
            }
            // Bounded in time even without a duration: N requests at R/s take N/R seconds.
            if let (None, Some(n)) = (self.duration, self.requests) {
                if n as f64 / rate > MAX_DURATION.as_secs_f64() {
                    return invalid("requests / rate must not exceed one hour");
                }
            }
        }
        Ok(())
    }
}

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A number in the configuration is out of range.
    #[error("invalid configuration: {0}")]
    InvalidConfig(String),
    /// The address is not a URI with a host.
    #[error("invalid address {addr:?}: {reason}")]
    InvalidAddress {
        /// The address given.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The address is not on this machine.
    #[error("refusing to target {0:?}: loadgen only targets loopback addresses (localhost, 127.0.0.0/8, [::1])")]
    NotLoopback(String),
    /// The method path is not `/package.Service/Method`.
    #[error("invalid method path {0:?}: expected /package.Service/Method")]
    InvalidMethodPath(String),
    /// No such service in the known descriptor sets.
    #[error("unknown service {service:?}; known services: {known}")]
    UnknownService {
        /// The service asked for.
        service: String,
        /// The services loadgen knows, comma-separated.
        known: String,
    },
    /// The service has no such method.
    #[error("service {service:?} has no method {method:?}; its methods: {known}")]
    UnknownMethod {
        /// The service.
        service: String,
        /// The method asked for.
        method: String,
        /// The service's methods, comma-separated.
        known: String,
    },
    /// The method streams; only unary methods can be driven.
    #[error("{0} is a streaming method; loadgen drives only unary methods")]
    NotUnary(String),
    /// The JSON does not describe a valid request message.
    #[error("--data is not a valid {message} in JSON: {reason}")]
    InvalidRequest {
        /// The request message type.
        message: String,
        /// The JSON or protobuf mapping error.
        reason: String,
    },
    /// The descriptor sets compiled into the binary do not decode (a build problem).
    #[error("descriptor sets do not decode: {0}")]
    Descriptors(String),
    /// A connection could not be established.
    #[error("cannot connect to {addr}: {reason}")]
    Connect {
        /// The address.
        addr: String,
        /// The transport error with its causes (tonic's own message is only "transport error").
        reason: String,
    },
}

/// Parses `1500ms`, `10s`, `2.5s`, `3m`, `1h`, or a plain number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration (examples: 500ms, 10s, 2m)"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use ms, s, m or h)"
            ))
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

/// The method to call and the request to send, checked against the descriptor sets.
#[derive(Debug, Clone)]
pub struct Target {
    /// The method path as sent on the wire.
    pub path: PathAndQuery,
    /// The encoded request, shared by every call.
    pub request: Bytes,
}

impl Target {
    /// Finds `method` in linernotes' and `grpc.health.v1`'s descriptor sets, checks that it is unary,
    /// and encodes `json` as its request message.
    pub fn resolve(method: &str, json: &str) -> Result<Self, Error> {
        let pool = descriptor_pool()?;
        let invalid_path = || Error::InvalidMethodPath(method.to_owned());
        let (service_name, method_name) = method
            .strip_prefix('/')
            .and_then(|rest| rest.split_once('/'))
            .filter(|(s, m)| !s.is_empty() && !m.is_empty() && !m.contains('/'))
            .ok_or_else(invalid_path)?;
        let service = pool.get_service_by_name(service_name).ok_or_else(|| {
            let known: Vec<String> = pool.services().map(|s| s.full_name().to_owned()).collect();
            Error::UnknownService {
                service: service_name.to_owned(),
                known: known.join(", "),
            }
        })?;
        let descriptor = service
            .methods()
            .find(|m| m.name() == method_name)
            .ok_or_else(|| Error::UnknownMethod {
                service: service_name.to_owned(),
                method: method_name.to_owned(),
                known: service
                    .methods()
                    .map(|m| m.name().to_owned())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
        if descriptor.is_client_streaming() || descriptor.is_server_streaming() {
            return Err(Error::NotUnary(method.to_owned()));
        }
        let input = descriptor.input();
        let invalid_request = |reason: String| Error::InvalidRequest {
            message: input.full_name().to_owned(),
            reason,
        };
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let message = DynamicMessage::deserialize(input.clone(), &mut deserializer)
            .map_err(|e| invalid_request(e.to_string()))?;
        deserializer
            .end()
            .map_err(|e| invalid_request(e.to_string()))?;
        let path = PathAndQuery::try_from(method).map_err(|_| invalid_path())?;
        Ok(Self {
            path,
            request: Bytes::from(message.encode_to_vec()),
        })
    }
}

/// linernotes' services plus `grpc.health.v1.Health`.
fn descriptor_pool() -> Result<DescriptorPool, Error> {
    let mut pool = DescriptorPool::new();
    for set in [
        linernotes_proto::pb::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
    ] {
        pool.decode_file_descriptor_set(set)
            .map_err(|e| Error::Descriptors(e.to_string()))?;
    }
    Ok(pool)
}

/// Checks that `addr` is a URI naming this machine.
fn check_loopback(addr: &str) -> Result<Uri, Error> {
    let invalid = |reason: &str| Error::InvalidAddress {
        addr: addr.to_owned(),
        reason: reason.to_owned(),
    };
    let uri: Uri = addr
        .parse()
        .map_err(|e: tonic::codegen::http::uri::InvalidUri| invalid(&e.to_string()))?;
    if uri.scheme_str() != Some("http") {
        return Err(invalid(
            "expected http://host:port (loadgen speaks plaintext HTTP/2)",
        ));
    }
    let host = uri.host().ok_or_else(|| invalid("no host"))?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        return Err(Error::NotLoopback(addr.to_owned()));
    }
    Ok(uri)
}

/// An error and its sources, joined by `: `.
fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// What a run measured. Only requests *started* after the warm-up are counted.
#[derive(Debug, Clone)]
pub struct Report {
    /// The method driven.
    pub method: String,
    /// Connections used.
    pub connections: usize,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// The fixed rate asked for, if any.
    pub target_rate: Option<f64>,
    /// Requests measured (successes plus errors).
    pub requests: u64,
    /// Requests answered with status OK.
    pub successes: u64,
    /// Failed requests by gRPC status code name (`INVALID_ARGUMENT`, `DEADLINE_EXCEEDED`, …).
    pub errors: BTreeMap<&'static str, u64>,
    /// From the end of the warm-up until the last measured request finished.
    pub elapsed: Duration,
    /// Latency of successful requests in microseconds. As fast as possible: from the send. At a fixed
    /// rate: from the time the request was due when every worker was still busy with earlier requests
    /// (so waiting behind slow answers counts: no coordinated omission), and from the send when a
    /// worker was idle, waiting for that time (so the pacer's wake-up does not count).
    pub latency: Histogram<u64>,
    /// At a fixed rate: how late each request was sent (µs) after the time it was due; the pacer's
    /// and the workers' wake-ups and too few workers all show up here.
    pub send_lag: Option<Histogram<u64>>,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest value.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Percentiles {
    fn of(histogram: &Histogram<u64>) -> Self {
        let ms = |micros: u64| micros as f64 / 1000.0;
        Self {
            p50: ms(histogram.value_at_quantile(0.50)),
            p90: ms(histogram.value_at_quantile(0.90)),
            p99: ms(histogram.value_at_quantile(0.99)),
            p999: ms(histogram.value_at_quantile(0.999)),
            max: ms(histogram.max()),
            mean: histogram.mean() / 1000.0,
        }
    }
}

/// The machine-readable form of a [`Report`] (what `--json` prints).
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// The method driven.
    pub method: String,
    /// `closed-loop` (as fast as possible) or `fixed-rate`.
    pub mode: &'static str,
    /// The fixed rate asked for, in requests per second.
    pub target_rate: Option<f64>,
    /// Connections used.
    pub connections: usize,
    /// Requests in flight at most.
    pub concurrency: usize,
    /// Requests measured.
    pub requests: u64,
    /// Requests answered OK.
    pub successes: u64,
    /// Failed requests by status code name.
    pub errors: BTreeMap<&'static str, u64>,
    /// Measured time in seconds.
    pub elapsed_secs: f64,
    /// Requests (successes and errors) per second.
    pub throughput: f64,
    /// Latency of successful requests; absent when none succeeded.
    pub latency_ms: Option<Percentiles>,
    /// At a fixed rate, how late requests were sent after the time they were due.
    pub send_lag_ms: Option<Percentiles>,
}

impl Report {
    /// Requests (successes and errors) per second of measured time.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.requests as f64 / secs
        } else {
            0.0
        }
    }

    /// The summary printed by the CLI.
    pub fn summary(&self) -> Summary {
        Summary {
            method: self.method.clone(),
            mode: if self.target_rate.is_some() {
                "fixed-rate"
            } else {
                "closed-loop"
            },
            target_rate: self.target_rate,
            connections: self.connections,
            concurrency: self.concurrency,
            requests: self.requests,
            successes: self.successes,
            errors: self.errors.clone(),
            elapsed_secs: self.elapsed.as_secs_f64(),
            throughput: self.throughput(),
            latency_ms: (!self.latency.is_empty()).then(|| Percentiles::of(&self.latency)),
            send_lag_ms: self
                .send_lag
                .as_ref()
                .filter(|h| !h.is_empty())
                .map(Percentiles::of),
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "method       {}", self.method)?;
        match self.target_rate {
            Some(rate) => writeln!(f, "mode         fixed rate, {rate} req/s")?,
            None => writeln!(f, "mode         as fast as possible")?,
        }
        writeln!(
            f,
            "load         {} connections, {} in flight at most",
            self.connections, self.concurrency
        )?;
        writeln!(
            f,
            "requests     {} ({} ok, {} errors)",
            self.requests,
            self.successes,
            self.requests - self.successes
        )?;
        for (code, count) in &self.errors {
            writeln!(f, "  {code:<22} {count}")?;
        }
        writeln!(f, "elapsed      {:.3} s", self.elapsed_secs)?;
        writeln!(f, "throughput   {:.1} req/s", self.throughput)?;
        let line = |f: &mut fmt::Formatter<'_>, name: &str, p: &Percentiles| {
            writeln!(
                f,
                "{name:<12} p50 {:.3}  p90 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3}  (ms)",
                p.p50, p.p90, p.p99, p.p999, p.max
            )
        };
        match &self.latency_ms {
            Some(p) => line(f, "latency", p)?,
            None => writeln!(f, "latency      no successful request")?,
        }
        if let Some(p) = &self.send_lag_ms {
            line(f, "send lag", p)?;
        }
        Ok(())
    }
}

/// The protobuf-style name of a status code, e.g. `INVALID_ARGUMENT`.
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// The shared timeline and limits every worker reads.
struct Plan {
    target: Target,
    timeout: Duration,
    /// When load starts (warm-up included).
    start: Instant,
    /// When measuring starts.
    measure_start: Instant,
    /// No request starts at or after this (fixed duration only).
    deadline: Option<Instant>,
    requests: Option<u64>,
    rate: Option<f64>,
    /// Fixed rate: the next ticket (request *k* is due at `start + k / rate`).
    next_ticket: AtomicU64,
    /// Fixed rate: one permit per ticket, released by the [`pace`] thread when the ticket is due.
    due_tickets: Arc<Semaphore>,
    /// Fixed rate: tickets due before `measure_start` (warm-up).
    warmup_tickets: u64,
    /// As fast as possible: measured requests started so far.
    measured_started: AtomicU64,
}

impl Plan {
    /// The time request `ticket` is due on the fixed timeline.
    fn due(&self, ticket: u64, rate: f64) -> Instant {
        self.start + Duration::from_secs_f64(ticket as f64 / rate)
    }

    /// Whether `ticket` lies beyond the run (past the request count or due at or after the deadline).
    fn past_end(&self, ticket: u64, rate: f64) -> bool {
        self.requests
            .is_some_and(|n| ticket >= self.warmup_tickets + n)
            || self
                .deadline
                .is_some_and(|deadline| self.due(ticket, rate) >= deadline)
    }
}

/// The pacer's shortest sleep: at high rates it releases what came due every 100 µs (at 15,000 req/s,
/// one or two requests at a time) rather than waking for every request.
const PACER_TICK: Duration = Duration::from_micros(100);

/// Fixed rate: releases one permit of `plan.due_tickets` per ticket at the time it is due, then one
/// past-the-end permit per worker so each of them stops.
///
/// It runs on its own thread because tokio's timer ticks in whole milliseconds: workers sleeping on it
/// would send each millisecond's requests in one burst (at 15,000 req/s, fifteen at once), and the
/// latency measured would be mostly that burst queueing in the load generator and the server. The
/// thread's sleeps are precise to tens of microseconds, so requests go out as evenly as the rate asks
/// (within [`PACER_TICK`]).
fn pace(plan: &Plan, rate: f64, workers: usize) {
    let _guard = CloseOnPanic(plan.due_tickets.clone());
    let mut released = 0;
    loop {
        let now = Instant::now();
        let mut due = 0;
        while !plan.past_end(released + due, rate) && plan.due(released + due, rate) <= now {
            due += 1;
        }
        if due > 0 {
            plan.due_tickets.add_permits(due as usize);
            released += due;
        }
        if plan.past_end(released, rate) {
            break;
        }
        let next = plan
            .due(released, rate)
            .saturating_duration_since(Instant::now());
        std::thread::sleep(next.max(PACER_TICK));
    }
    plan.due_tickets.add_permits(workers);
}

/// Closes the semaphore when the pacer panics, so the workers waiting on it stop instead of waiting
/// forever.
struct CloseOnPanic(Arc<Semaphore>);

impl Drop for CloseOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.close();
        }
    }
}

/// One worker's tallies, merged at the end (no locks while running).
struct Tally {
    requests: u64,
    successes: u64,
    errors: BTreeMap<&'static str, u64>,
    latency: Histogram<u64>,
    send_lag: Histogram<u64>,
    last_finish: Option<Instant>,
}

impl Tally {
    fn new() -> Self {
        Self {
            requests: 0,
            successes: 0,
            errors: BTreeMap::new(),
            latency: new_histogram(),
            send_lag: new_histogram(),
            last_finish: None,
        }
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to one hour with three significant digits: the bounds are constants, so this cannot fail.
    Histogram::new_with_bounds(1, HISTOGRAM_MAX_MICROS, 3).expect("constant histogram bounds")
}

fn micros(duration: Duration) -> u64 {
    u64::try_from(duration.as_micros()).unwrap_or(u64::MAX)
}

/// Drives the method described by `config` and reports what was measured.
///
/// Fails before sending anything when the configuration, the address, the method or the request is
/// invalid, or when a connection cannot be made. Errors the server answers with are counted, not
/// returned.
pub async fn run(config: Config) -> Result<Report, Error> {
    config.validate()?;
    let uri = check_loopback(&config.addr)?;
    let target = Target::resolve(&config.method, &config.data)?;

    let mut channels = Vec::with_capacity(config.connections);
    for _ in 0..config.connections {
        // Each Endpoint::connect opens its own HTTP/2 connection.
        let channel = Channel::builder(uri.clone())
            .connect()
            .await
            .map_err(|err| Error::Connect {
                addr: config.addr.clone(),
                reason: error_chain(&err),
            })?;
        channels.push(channel);
    }

    let start = Instant::now();
    let measure_start = start + config.warmup;
    let plan = Arc::new(Plan {
        target,
        timeout: config.timeout,
        start,
        measure_start,
        deadline: config.duration.map(|d| measure_start + d),
        requests: config.requests,
        rate: config.rate,
        next_ticket: AtomicU64::new(0),
        due_tickets: Arc::new(Semaphore::new(0)),
        warmup_tickets: config
            .rate
            .map_or(0, |rate| (config.warmup.as_secs_f64() * rate).ceil() as u64),
        measured_started: AtomicU64::new(0),
    });

    let workers: Vec<_> = (0..config.concurrency)
        .map(|i| {
            let channel = channels[i % channels.len()].clone();
            tokio::spawn(worker(plan.clone(), channel))
        })
        .collect();
    let pacer = config.rate.map(|rate| {
        let plan = plan.clone();
        let workers = config.concurrency;
        std::thread::spawn(move || pace(&plan, rate, workers))
    });

    let mut total = Tally::new();
    for handle in workers {
        // A worker only panics on a bug; its tallies are then lost and the others still count.
        let Ok(tally) = handle.await else { continue };
        total.requests += tally.requests;
        total.successes += tally.successes;
        for (code, count) in tally.errors {
            *total.errors.entry(code).or_default() += count;
        }
        // Same bounds everywhere, so adding cannot fail.
        let _ = total.latency.add(&tally.latency);
        let _ = total.send_lag.add(&tally.send_lag);
        total.last_finish = total.last_finish.max(tally.last_finish);
    }
    if let Some(pacer) = pacer {
        // Every worker has taken its past-the-end permit, so the pacer has returned.
        let _ = pacer.join();
    }
    let end = total.last_finish.unwrap_or_else(Instant::now);

    Ok(Report {
        method: config.method,
        connections: config.connections,
        concurrency: config.concurrency,
        target_rate: config.rate,
        requests: total.requests,
        successes: total.successes,
        errors: total.errors,
        elapsed: end.saturating_duration_since(measure_start),
        latency: total.latency,
        send_lag: config.rate.map(|_| total.send_lag),
    })
}

/// One worker: takes the next request from the plan, sends it, records the outcome, until the plan
/// says stop.
async fn worker(plan: Arc<Plan>, channel: Channel) -> Tally {
    let mut tally = Tally::new();
    let mut client = tonic::client::Grpc::new(channel);
    loop {
        // Where latency counts from, when the request was due, and whether it counts.
        let (from, due, measured) = match plan.rate {
            Some(rate) => {
                // A worker that waits for its request's time is idle when it is due: any lateness is
                // the pacer's wake-up, not the server's, so latency counts from the actual send. A
                // worker that finds a ticket already due was held up by slow answers (every worker
                // busy): that wait is the server's doing and counts.
                let waited = match plan.due_tickets.try_acquire() {
                    Ok(permit) => {
                        permit.forget();
                        false
                    }
                    Err(_) => {
                        let Ok(permit) = plan.due_tickets.acquire().await else {
                            break;
                        };
                        permit.forget();
                        true
                    }
                };
                let ticket = plan.next_ticket.fetch_add(1, Ordering::Relaxed);
                if plan.past_end(ticket, rate) {
                    break;
                }
                let due = plan.due(ticket, rate);
                let from = if waited { Instant::now() } else { due };
                (from, due, ticket >= plan.warmup_tickets)
            }
            None => {
                let now = Instant::now();
                if plan.deadline.is_some_and(|deadline| now >= deadline) {
                    break;
                }
                let measured = now >= plan.measure_start;
                if measured {
                    let started = plan.measured_started.fetch_add(1, Ordering::Relaxed);
                    if plan.requests.is_some_and(|n| started >= n) {
                        break;
                    }
                }
                (now, now, measured)
            }
        };
        let sent = Instant::now();
        let outcome = call(&mut client, &plan).await;
        let finished = Instant::now();
        if !measured {
            continue;
        }
        tally.requests += 1;
        tally.last_finish = Some(finished);
        if plan.rate.is_some() {
            tally
                .send_lag
                .saturating_record(micros(sent.saturating_duration_since(due)).max(1));
        }
        match outcome {
            Ok(()) => {
                tally.successes += 1;
                tally
                    .latency
                    .saturating_record(micros(finished.saturating_duration_since(from)).max(1));
            }
            Err(code) => *tally.errors.entry(code_name(code)).or_default() += 1,
        }
    }
    tally
}

/// Sends the request once; the status code when it fails.
async fn call(client: &mut tonic::client::Grpc<Channel>, plan: &Plan) -> Result<(), Code> {
    let attempt = async {
        client
            .ready()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        let mut request = tonic::Request::new(plan.target.request.clone());
        request.set_timeout(plan.timeout);
        client
            .unary::<Bytes, Bytes, _>(request, plan.target.path.clone(), BytesCodec)
            .await
    };
    match tokio::time::timeout(plan.timeout, attempt).await {
        Ok(Ok(_response)) => Ok(()),
        Ok(Err(status)) => Err(status.code()),
        Err(_elapsed) => Err(Code::DeadlineExceeded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_and_without_units() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2.5s"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("3m"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_duration("0s"), Ok(Duration::ZERO));
    }

    #[test]
    fn bad_durations_are_rejected() {
        for text in ["", "s", "10x", "-1s", "1.2.3s", "ten seconds", "10 parsecs"] {
            assert!(parse_duration(text).is_err(), "{text:?} should not parse");
        }
    }

    #[test]
    fn only_loopback_addresses_are_targeted() {
        for ok in [
            "http://127.0.0.1:50051",
            "http://127.3.2.1:1",
            "http://localhost:50051",
            "http://[::1]:50051",
        ] {
            assert!(check_loopback(ok).is_ok(), "{ok} is loopback");
        }
        for far in [
            "http://10.0.0.1:50051",
            "http://192.168.1.2:50051",
            "http://example.com:50051",
        ] {
            assert!(
                matches!(check_loopback(far), Err(Error::NotLoopback(_))),
                "{far}"
            );
        }
        assert!(matches!(
            check_loopback("127.0.0.1:50051"),
            Err(Error::InvalidAddress { .. })
        ));
    }

    #[test]
    fn unary_methods_of_both_descriptor_sets_resolve() {
        let health = Target::resolve("/grpc.health.v1.Health/Check", "{}").expect("health check");
        assert_eq!(health.path.as_str(), "/grpc.health.v1.Health/Check");
        assert!(
            health.request.is_empty(),
            "an empty message encodes to nothing"
        );
        let artist = Target::resolve(
            "/linernotes.v1.MetadataService/GetArtist",
            r#"{"id": "musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da", "refresh": true}"#,
        )
        .expect("get artist");
        let decoded = linernotes_proto::pb::GetEntityRequest::decode(artist.request)
            .expect("the request decodes as the generated type");
        assert_eq!(
            decoded.id,
            "musicbrainz:5b11f4ce-a62d-471e-81fc-a69a8278c7da"
        );
        assert!(decoded.refresh);
    }

    #[test]
    fn streaming_unknown_and_malformed_targets_are_rejected() {
        assert!(matches!(
            Target::resolve("/grpc.health.v1.Health/Watch", "{}"),
            Err(Error::NotUnary(_))
        ));
        assert!(matches!(
            Target::resolve("/linernotes.v1.Nope/GetArtist", "{}"),
            Err(Error::UnknownService { .. })
        ));
        assert!(matches!(
            Target::resolve("/linernotes.v1.MetadataService/GetArtistt", "{}"),
            Err(Error::UnknownMethod { .. })
        ));
        for path in ["GetArtist", "/linernotes.v1.MetadataService", "//GetArtist"] {
            assert!(
                matches!(
                    Target::resolve(path, "{}"),
                    Err(Error::InvalidMethodPath(_))
                ),
                "{path}"
            );
        }
        for data in [r#"{"idd": "x"}"#, r#"{"id": 5}"#, "{", "{} {}"] {
            assert!(
                matches!(
                    Target::resolve("/linernotes.v1.MetadataService/GetArtist", data),
                    Err(Error::InvalidRequest { .. })
                ),
                "{data}"
            );
        }
    }

    #[tokio::test]
    async fn an_unreachable_server_is_an_error_before_any_request() {
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        let mut config = Config::new("http://127.0.0.1:1", "/grpc.health.v1.Health/Check", "{}");
        config.connections = 1;
        config.concurrency = 1;
        match run(config).await {
            Err(Error::Connect { reason, .. }) => assert!(reason.contains("connect"), "{reason}"),
            other => panic!("expected a connection error, got {other:?}"),
        }
    }

    #[test]
    fn configurations_out_of_range_are_rejected() {
        let base = Config::new("http://127.0.0.1:1", "/grpc.health.v1.Health/Check", "{}");
        assert!(base.validate().is_ok());
        let cases: [fn(&mut Config); 8] = [
            |c| c.connections = 0,
            |c| c.concurrency = 2,
            |c| c.duration = None,
            |c| c.requests = Some(0),
            |c| c.rate = Some(0.0),
            |c| c.rate = Some(1e-300),
            |c| c.duration = Some(Duration::from_secs(7200)),
            |c| {
                c.duration = None;
                c.requests = Some(10_000);
                c.rate = Some(1.0);
            },
        ];
        for (i, change) in cases.into_iter().enumerate() {
            let mut config = base.clone();
            change(&mut config);
            assert!(
                matches!(config.validate(), Err(Error::InvalidConfig(_))),
                "case {i}"
            );
        }
    }
}
