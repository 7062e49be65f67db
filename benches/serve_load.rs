//! A load test of `audiobook serve` on loopback, bounded in requests and time:
//!
//! ```text
//! cargo bench --bench serve_load                 2 sessions; 1, 2 and 4 clients; 1,000 requests for memory
//! cargo bench --bench serve_load -- --quick      fewer requests
//! ```
//!
//! It starts the real binary (`--jobs 2`, a queue of 8), and reports for each number of clients
//! the throughput, p50/p95/p99 latency and errors (none are expected below the queue's limit);
//! the time to the first audio byte of a long streamed text; and the server's RSS before and
//! after 1,000 short requests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

const SHORT: &str = "The harbour was quiet tonight.";
const LONG: &str = "The tide came in slowly over the flats, and the gulls rose and settled and rose again. \
    Nell counted the boats at anchor, then the lamps along the quay, then the bells from the chapel. \
    When the light went she folded the map, put it in her case, and climbed the stairs once more.";

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// One request; its latency, or None on any error.
fn speak(url: &str, text: &str) -> Option<f64> {
    let started = Instant::now();
    let body = serde_json::json!({ "text": text }).to_string();
    let mut response = agent().post(format!("{url}/tts")).header("content-type", "application/json").send(body).ok()?;
    let ok = response.status().as_u16() == 200;
    let bytes = response.body_mut().read_to_vec().ok()?;
    (ok && bytes.len() > 44).then(|| started.elapsed().as_secs_f64())
}

fn rss_mb(server: &common::Server) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.child.id())).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// `clients` threads sharing `requests` requests: wall seconds, sorted latencies, errors.
fn load(server: &common::Server, clients: usize, requests: usize, text: &str) -> (f64, Vec<f64>, usize) {
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<Option<f64>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..clients)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    while next.fetch_add(1, Ordering::SeqCst) < requests {
                        mine.push(speak(&server.url, text));
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap()).collect()
    });
    let wall = started.elapsed().as_secs_f64();
    let errors = results.iter().filter(|r| r.is_none()).count();
    let mut latencies: Vec<f64> = results.into_iter().flatten().collect();
    latencies.sort_by(f64::total_cmp);
    (wall, latencies, errors)
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() { 0.0 } else { sorted[((sorted.len() - 1) as f64 * q).round() as usize] }
}

/// Time to the first byte of audio (the first NDJSON line) of a long text, streamed.
fn first_audio(server: &common::Server) -> (f64, f64) {
    let started = Instant::now();
    let body = serde_json::json!({ "text": LONG }).to_string();
    let mut response = agent()
        .post(format!("{}/tts?stream=true", server.url))
        .header("content-type", "application/json")
        .send(body)
        .unwrap();
    let mut reader = BufReader::new(response.body_mut().as_reader());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let first = started.elapsed().as_secs_f64();
    let mut rest = Vec::new();
    reader.read_to_end(&mut rest).unwrap();
    (first, started.elapsed().as_secs_f64())
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let server = common::start_server(&["--jobs", "2", "--queue", "8"], &[]);
    let per_run = if quick { 12 } else { 40 };
    println!("audiobook serve --jobs 2 --queue 8 on loopback; short text: {SHORT:?}");
    println!("| clients | requests | wall s | requests/s | p50 s | p95 s | p99 s | errors |");
    println!("|---|---|---|---|---|---|---|---|");
    for clients in [1, 2, 4, 8] {
        let (wall, latencies, errors) = load(&server, clients, per_run, SHORT);
        println!(
            "| {clients} | {per_run} | {wall:.1} | {:.2} | {:.2} | {:.2} | {:.2} | {errors} |",
            per_run as f64 / wall,
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            percentile(&latencies, 0.99)
        );
    }
    let (first, total) = first_audio(&server);
    println!(
        "\nlong text streamed ({} words): first audio byte {first:.2} s, all of it {total:.2} s",
        LONG.split_whitespace().count()
    );
    let count = if quick { 100 } else { 1000 };
    let before = rss_mb(&server);
    let (wall, _, errors) = load(&server, 2, count, SHORT);
    let after = rss_mb(&server);
    println!(
        "\nRSS of the server: {before:.0} MB before, {after:.0} MB after {count} more requests ({wall:.0} s, {errors} errors)"
    );
}
