//! `audiobook build` against the model's own floor, on a fixed ~640-word chapter
//! (fixtures/bench/chapter.md). Figures are ratios measured in one run, since machines are noisy.
//!
//! ```text
//! cargo bench --bench pipeline                 floor, build end to end, ratio, speed, memory, start-up
//! cargo bench --bench pipeline -- --sweep      also sessions x threads, chunk size, session options
//! cargo bench --bench pipeline -- --scaling    also 1x, 4x and 16x the chapter (--only-scaling: just that)
//! ```
//!
//! The floor is plain `session.run` on the exact token ids the plan produces, with the sessions
//! already built, in the best of the session layouts tried. `build` runs the real binary.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use audiobook::chunk::ChunkConfig;
use audiobook::ingest::{self, IngestOptions};
use audiobook::kokoro::assets::{self, AssetOverrides, FetchProgress};
use audiobook::kokoro::{Engine, SAMPLE_RATE, SessionConfig};
use audiobook::phonemize::Phonemizer;
use audiobook::plan;
use serde_json::Value;

const VOICE: &str = "bf_lily";

struct Say;

impl FetchProgress for Say {
    fn step(&self, message: &str) {
        eprintln!("{message}");
    }
    fn show_tool_output(&self) -> bool {
        false
    }
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/bench/chapter.md")
}

/// The token ids of every chunk the plan makes of `input` with chunks aiming at, and never
/// passing, `max` tokens (the defaults are such a pair).
fn planned_ids(input: &Path, max: usize) -> Vec<Vec<i64>> {
    let book = ingest::read_inputs(&[input], &IngestOptions::default()).unwrap();
    let g2p = Phonemizer::new(Phonemizer::dialect_for_voice(VOICE).unwrap()).unwrap();
    let config = ChunkConfig { target_tokens: max, max_tokens: max };
    let plan = plan::plan(&book, &g2p, &config).unwrap();
    plan.chapters.iter().flat_map(|c| &c.chunks).map(|c| c.ids.clone()).collect()
}

/// Floor: seconds to run `ids` on `jobs` prebuilt sessions of `config`, longest first, and the
/// seconds of audio they make.
fn floor(ids: &[Vec<i64>], jobs: usize, config: SessionConfig) -> (f64, f64) {
    let files = assets::ensure(&AssetOverrides::default(), &Say).unwrap();
    let engine = Engine::start(&files, config, jobs).unwrap();
    let voice = engine.voice(VOICE).unwrap();
    let mut order: Vec<&Vec<i64>> = ids.iter().collect();
    order.sort_by_key(|ids| std::cmp::Reverse(ids.len()));
    let next = AtomicUsize::new(0);
    let samples = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (next, samples, order, voice, pool) = (&next, &samples, &order, &voice, engine.pool());
            scope.spawn(move || {
                let mut session = pool.checkout(None).unwrap();
                while let Some(ids) = order.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let out = session.infer(ids, voice.style_for(ids.len()), 1.0).unwrap();
                    samples.fetch_add(out.samples.len(), Ordering::SeqCst);
                }
            });
        }
    });
    (started.elapsed().as_secs_f64(), samples.into_inner() as f64 / SAMPLE_RATE as f64)
}

/// One `audiobook build` run: wall seconds (measured here) and its JSON summary.
fn build(input: &Path, extra: &[&str]) -> (f64, Value) {
    let out = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_audiobook"))
        .arg("build")
        .arg(input)
        .arg("-o")
        .arg(out.path().join("book"))
        .args(["--json", "--voice", VOICE])
        .args(extra)
        .output()
        .unwrap();
    let wall = started.elapsed().as_secs_f64();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let stdout = String::from_utf8_lossy(&output.stdout);
    (wall, serde_json::from_str(stdout.lines().last().unwrap()).unwrap())
}

fn mb(summary: &Value) -> f64 {
    summary["peak_rss_bytes"].as_f64().unwrap_or(0.0) / 1e6
}

fn audio_s(summary: &Value) -> f64 {
    summary["audio_ms_rendered"].as_f64().unwrap_or(0.0) / 1000.0
}

fn headline(ids: &[Vec<i64>]) {
    let tokens: usize = ids.iter().map(Vec::len).sum();
    println!("fixture: {} chunks, {tokens} phoneme tokens", ids.len());
    let one_thread = SessionConfig { intra_threads: 1, ..SessionConfig::default() };
    let (wide, _) = floor(ids, 1, SessionConfig { intra_threads: 2, ..SessionConfig::default() });
    println!("floor 1 session x 2 threads: {wide:.1} s");
    // The machine is noisy (+-10% between runs), so the floor and the build take turns, twice,
    // and each keeps its best time.
    let mut best_floor = f64::MAX;
    let mut best_build: Option<(f64, Value)> = None;
    for round in 1..=2 {
        let (secs, audio) = floor(ids, 2, one_thread);
        println!("round {round}: floor 2 sessions x 1 thread: {secs:.1} s for {audio:.1} s of audio");
        best_floor = best_floor.min(secs);
        let (wall, summary) = build(&fixture(), &[]);
        println!("round {round}: build (defaults): {wall:.1} s");
        if best_build.as_ref().is_none_or(|(best, _)| wall < *best) {
            best_build = Some((wall, summary));
        }
    }
    let (wall, summary) = best_build.unwrap();
    let load = summary["load_ms"].as_f64().unwrap_or(0.0) / 1000.0;
    println!(
        "best floor (2x1): {best_floor:.1} s; best build: {wall:.1} s end to end, {:.1} s without model loading ({load:.1} s)",
        wall - load
    );
    println!(
        "ratio to the floor: {:.3} end to end, {:.3} without loading",
        wall / best_floor,
        (wall - load) / best_floor
    );
    println!("speed: {:.2} s of audio per wall second; peak RSS {:.0} MB", audio_s(&summary) / wall, mb(&summary));
}

fn sweep(ids: &[Vec<i64>]) {
    println!("\nsessions x threads (floor, then build end to end)");
    println!("| layout | floor s | build s | build / floor | peak RSS MB |");
    for (jobs, threads) in [(1, 2), (2, 1)] {
        let config = SessionConfig { intra_threads: threads, ..SessionConfig::default() };
        let (floor_s, _) = floor(ids, jobs, config);
        let (wall, s) = build(&fixture(), &["--jobs", &jobs.to_string(), "--threads", &threads.to_string()]);
        println!("| {jobs} x {threads} | {floor_s:.1} | {wall:.1} | {:.3} | {:.0} |", wall / floor_s, mb(&s));
    }
    println!("\nchunk size: --chunk-target and --chunk-max both T (build end to end, defaults otherwise)");
    println!("| T tokens | chunks | audio s | build s | ms per token | peak RSS MB |");
    for target in [50, 100, 150, 200, 300, 510] {
        let chunks = planned_ids(&fixture(), target);
        let tokens: usize = chunks.iter().map(Vec::len).sum();
        let t = target.to_string();
        let (wall, s) = build(&fixture(), &["--chunk-target", &t, "--chunk-max", &t]);
        println!(
            "| {target} | {} | {:.1} | {wall:.1} | {:.2} | {:.0} |",
            chunks.len(),
            audio_s(&s),
            wall * 1000.0 / tokens as f64,
            mb(&s)
        );
    }
    println!("\nsession options (build end to end, defaults otherwise)");
    println!("| option | build s | peak RSS MB |");
    let options: [(&str, &[&str]); 5] = [
        ("defaults", &[]),
        ("--no-arena", &["--no-arena"]),
        ("--spin", &["--spin"]),
        ("--memory-pattern", &["--memory-pattern"]),
        ("--graph-optimization 1", &["--graph-optimization", "1"]),
    ];
    for (name, args) in options {
        let (wall, s) = build(&fixture(), args);
        println!("| {name} | {wall:.1} | {:.0} |", mb(&s));
    }
}

/// The chapter `times` times over, each copy a chapter of its own whose sentences have their
/// words rotated by the copy's number, so the copies share no chunks (identical chunks are
/// rendered once) while keeping the same words, phonemes and sentence lengths.
fn repeated(times: usize, dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(fixture()).unwrap();
    let paragraphs: Vec<&str> = text.split("\n\n").skip(1).collect();
    let mut out = String::new();
    for copy in 0..times {
        out += &format!("# Part {}\n\n", copy + 1);
        for paragraph in &paragraphs {
            let joined = paragraph.split_whitespace().collect::<Vec<_>>().join(" ");
            let sentences: Vec<String> = joined
                .split_inclusive(['.', '?', '!'])
                .map(|sentence| {
                    let mut words: Vec<&str> = sentence.split_whitespace().collect();
                    let n = words.len().max(1);
                    words.rotate_left(copy % n);
                    words.join(" ")
                })
                .collect();
            out += &sentences.join(" ");
            out += "\n\n";
        }
    }
    let path = dir.join(format!("chapter-x{times}.md"));
    std::fs::write(&path, out).unwrap();
    path
}

fn scaling() {
    println!("\nscaling (build end to end)");
    println!("| input | chunks | tokens | audio s | build s | ms per token | peak RSS MB |");
    let dir = tempfile::tempdir().unwrap();
    for times in [1, 4, 16] {
        let input = repeated(times, dir.path());
        let chunks = planned_ids(&input, ChunkConfig::default().max_tokens);
        let tokens: usize = chunks.iter().map(Vec::len).sum();
        let (wall, s) = build(&input, &[]);
        // A rotated sentence can still repeat another copy's chunk, which is then rendered once.
        let rendered = s["chunks_rendered"].as_u64().unwrap_or(0);
        println!(
            "| {times}x | {rendered} of {} | {tokens} | {:.0} | {wall:.1} | {:.2} | {:.0} |",
            chunks.len(),
            audio_s(&s),
            wall * 1000.0 / tokens as f64,
            mb(&s)
        );
    }
}

/// Time to the first byte of audio on stdout, and to the end, for `echo Hello | audiobook say -o -`.
fn startup() {
    let mut first = f64::MAX;
    let mut total = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let mut child = Command::new(env!("CARGO_BIN_EXE_audiobook"))
            .args(["say", "-o", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(b"Hello\n").unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        stdout.read_exact(&mut byte).unwrap();
        first = first.min(started.elapsed().as_secs_f64());
        let mut rest = Vec::new();
        stdout.read_to_end(&mut rest).unwrap();
        child.wait().unwrap();
        total = total.min(started.elapsed().as_secs_f64());
    }
    println!("\nstart-up, `echo Hello | audiobook say -o -` (best of 3): first byte {first:.2} s, done {total:.2} s");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ids = planned_ids(&fixture(), ChunkConfig::default().max_tokens);
    if !args.iter().any(|a| a == "--only-scaling") {
        headline(&ids);
        startup();
    }
    if args.iter().any(|a| a == "--sweep") {
        sweep(&ids);
    }
    if args.iter().any(|a| a == "--scaling" || a == "--only-scaling") {
        scaling();
    }
}
