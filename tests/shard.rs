//! Sharded builds end to end with the real model: N shard processes, each with its own output
//! folder, render into one chunk store; `assemble` then writes chapters and book.json byte for
//! byte as one machine's build does. Also: a shard killed mid-run resumes with only what is
//! missing, a missing shard is named, a damaged blob is refused, and the same over a local S3
//! server (s3s-fs) when one is installed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command as Process, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use assert_cmd::cargo::cargo_bin;
use serde_json::Value;

const OUTPUTS: [&str; 5] = ["01-arrival.wav", "01-arrival.json", "02-departure.wav", "02-departure.json", "book.json"];

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/two-chapters")
}

/// `audiobook SUBCOMMAND fixture -o OUT` with small chunks (several per chapter) and `extra`.
fn command(subcommand: &str, out: &Path, extra: &[&str]) -> Process {
    common::model_files();
    let mut command = Process::new(cargo_bin("audiobook"));
    command
        .arg(subcommand)
        .arg(fixture())
        .arg("-o")
        .arg(out)
        .args(["--chunk-target", "60", "--jobs", "1", "--no-progress"])
        .args(extra)
        .env_remove("AUDIOBOOK_STORE");
    for name in ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT", "JOB_COMPLETION_INDEX"] {
        command.env_remove(name);
    }
    command
}

fn run(mut command: Process) -> Output {
    command.output().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn succeeded(out: &Output) -> &Output {
    assert!(out.status.success(), "exit {:?}: {}", out.status.code(), stderr(out));
    out
}

/// A shard run's `shard_done` event (its last `--json` line).
fn shard_report(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.lines().last().expect("a JSON line")).unwrap();
    assert_eq!(report["event"], "shard_done", "{report}");
    let mut fields: Vec<&String> = report.as_object().unwrap().keys().filter(|k| *k != "event").collect();
    fields.sort();
    let mut documented = common::documented_events()["shard_done"].clone();
    documented.sort();
    assert_eq!(fields, documented.iter().collect::<Vec<_>>(), "shard_done's fields as docs/src/events.md lists them");
    report
}

/// Shard `k` of `n` of the fixture into `store`, from its own folder under `root`.
fn shard(root: &Path, store: &str, k: usize, n: usize) -> Value {
    let out = root.join(format!("shard-{k}-of-{n}"));
    let spec = format!("{k}/{n}");
    shard_report(succeeded(&run(command("build", &out, &["--store", store, "--shard", &spec, "--json"]))))
}

/// One machine's build of the fixture, made once for every test here.
fn single_build() -> &'static Path {
    static SINGLE: OnceLock<tempfile::TempDir> = OnceLock::new();
    SINGLE
        .get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            succeeded(&run(command("build", &dir.path().join("book"), &[])));
            dir
        })
        .path()
}

/// Every output of `out` is byte-identical to the single build's.
fn assert_same_as_single(out: &Path) {
    let single = single_build().join("book");
    for name in OUTPUTS {
        let (a, b) = (std::fs::read(single.join(name)).unwrap(), std::fs::read(out.join(name)).unwrap());
        assert!(a == b, "{name} differs from the single build's ({} vs {} bytes)", a.len(), b.len());
    }
}

fn assemble(out: &Path, store: &str) -> Output {
    run(command("assemble", out, &["--store", store]))
}

#[test]
fn two_and_three_shards_assemble_to_the_single_build_and_a_missing_shard_is_named() {
    let root = tempfile::tempdir().unwrap();
    for n in [2, 3] {
        let store = root.path().join(format!("store-{n}"));
        let store = store.to_str().unwrap();
        let mut owned = 0;
        let mut tokens = Vec::new();
        for k in 1..=n {
            if n == 3 && k == 2 {
                continue; // first assembled without it
            }
            let report = shard(root.path(), store, k, n);
            assert_eq!(report["chunks_failed"], 0);
            assert_eq!(report["chunks_rendered"], report["chunks_owned"], "{report}");
            let (raw, stored) = (report["bytes_raw"].as_u64().unwrap(), report["bytes_stored"].as_u64().unwrap());
            assert!(stored < raw, "chunks are stored compressed: {stored} of {raw} bytes");
            owned += report["chunks_owned"].as_u64().unwrap();
            tokens.push(report["tokens_owned"].as_u64().unwrap());
        }
        if n == 3 {
            // `status` shows each shard's progress: 1/3 and 3/3 done, 2/3 with nothing stored.
            let status = run(command("status", &root.path().join("unused"), &["--store", store, "--json"]));
            assert_eq!(status.status.code(), Some(3), "{}", stderr(&status));
            let status: Value = serde_json::from_slice(&status.stdout).unwrap();
            let shards = status["shards"].as_array().unwrap();
            assert_eq!(shards.len(), 3, "{status}");
            assert_eq!(shards[1]["shard"], "2/3");
            assert_eq!(shards[1]["chunks_stored"], 0);
            for done in [&shards[0], &shards[2]] {
                assert_eq!(done["chunks_stored"], done["chunks"], "{status}");
            }
            assert!(!root.path().join("unused").exists(), "status writes nothing");
            let out = root.path().join("assembled-without-2");
            let failed = assemble(&out, store);
            assert_eq!(failed.status.code(), Some(1), "{}", stderr(&failed));
            let message = stderr(&failed);
            assert!(message.contains("not in the store") && message.contains("shard 2/3"), "{message}");
            assert!(!out.join("book.json").exists());
            let report = shard(root.path(), store, 2, 3);
            owned += report["chunks_owned"].as_u64().unwrap();
            tokens.push(report["tokens_owned"].as_u64().unwrap());
            assert_eq!(owned, report["chunks_total"].as_u64().unwrap(), "every chunk is some shard's");
        }
        // Balanced by tokens: no shard has more than twice another's.
        let (max, min) = (tokens.iter().max().unwrap(), tokens.iter().min().unwrap());
        assert!(*max <= 2 * *min, "shard token counts {tokens:?}");

        let out = root.path().join(format!("assembled-{n}"));
        succeeded(&assemble(&out, store));
        assert_same_as_single(&out);
    }
}

/// The number of finished blobs in a folder store (a write in progress is a hidden temp file).
fn blobs(store: &Path) -> usize {
    std::fs::read_dir(store.join("chunks"))
        .map_or(0, |d| d.filter_map(Result::ok).filter(|e| !e.file_name().to_string_lossy().starts_with('.')).count())
}

fn kill_when(mut child: Child, what: &str, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(300), "timed out waiting for {what}");
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the shard ended ({status}) before {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn a_killed_shard_reruns_only_what_is_missing_and_the_job_array_gives_the_shard() {
    let root = tempfile::tempdir().unwrap();
    let store_dir = root.path().join("store");
    let store = store_dir.to_str().unwrap();
    // Shard 1/1 from a Slurm array's environment (ids from 4: this is task 4 of 1).
    let out = root.path().join("shard");
    let mut first = command("build", &out, &["--store", store, "--shard", "-q"]);
    first.envs([("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_MIN", "4"), ("SLURM_ARRAY_TASK_COUNT", "1")]);
    let child = first.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    kill_when(child, "the first chunk in the store", || blobs(&store_dir) >= 1);
    let before = blobs(&store_dir);

    let mut again = command("build", &out, &["--store", store, "--shard", "--json"]);
    again.envs([("SLURM_ARRAY_TASK_ID", "4"), ("SLURM_ARRAY_TASK_MIN", "4"), ("SLURM_ARRAY_TASK_COUNT", "1")]);
    let report = shard_report(succeeded(&run(again)));
    assert_eq!(report["shard"], "1/1");
    let already = report["chunks_already_stored"].as_u64().unwrap();
    assert!(already as usize >= before, "{report}");
    assert_eq!(already + report["chunks_rendered"].as_u64().unwrap(), report["chunks_owned"].as_u64().unwrap());
    assert!(report["chunks_rendered"].as_u64().unwrap() < report["chunks_owned"].as_u64().unwrap());
    // The scratch folder keeps no chunk: they are all in the store.
    assert_eq!(std::fs::read_dir(out.join(".audiobook/chunks")).unwrap().count(), 0);

    let assembled = root.path().join("assembled");
    succeeded(&assemble(&assembled, store));
    assert_same_as_single(&assembled);

    // A damaged blob is refused on read, naming the file, and nothing is written from it.
    let blob = std::fs::read_dir(store_dir.join("chunks")).unwrap().next().unwrap().unwrap().path();
    let mut bytes = std::fs::read(&blob).unwrap();
    let middle = 48 + (bytes.len() - 48) / 2;
    bytes[middle] ^= 0x10;
    std::fs::write(&blob, &bytes).unwrap();
    let damaged = assemble(&root.path().join("damaged"), store);
    assert!(!damaged.status.success());
    let message = stderr(&damaged);
    let name = blob.file_name().unwrap().to_str().unwrap();
    assert!(message.contains("corrupt chunk") && message.contains(name), "{message}");
    assert!(!root.path().join("damaged/book.json").exists());
}

#[test]
fn shard_flags_are_checked_before_any_work() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("o");
    let store = root.path().join("s");
    let store = store.to_str().unwrap();
    for (subcommand, args, expected) in [
        ("build", vec!["--store", store, "--shard", "4/3"], "--shard 4/3"),
        ("build", vec!["--store", store, "--shard"], "no job array"),
        ("assemble", vec![], "assemble needs --store"),
        ("assemble", vec!["--store", store, "--shard", "1/2"], "assemble renders nothing"),
    ] {
        let out = run(command(subcommand, &out, &args));
        assert_eq!(out.status.code(), Some(1), "{subcommand} {args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(expected), "{subcommand} {args:?}: {}", stderr(&out));
    }
    // --shard without --store is clap's usage error.
    let out = run(command("build", &out, &["--shard", "1/2"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--store"), "{}", stderr(&out));
}

/// A local S3 server on a free loopback port, stopped on drop.
struct S3Server {
    child: Child,
    port: u16,
    _root: tempfile::TempDir,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_s3(binary: &Path, bucket: &str) -> S3Server {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join(bucket)).unwrap(); // s3s-fs: a bucket is a folder
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Process::new(binary)
        .args(["--host", "127.0.0.1", "--port", &port.to_string(), "--access-key", "shard", "--secret-key", "secret"])
        .arg(root.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(start.elapsed() < Duration::from_secs(30), "s3s-fs did not listen on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    S3Server { child, port, _root: root }
}

fn with_s3(mut command: Process, server: &S3Server) -> Process {
    command.envs([
        ("AWS_ACCESS_KEY_ID", "shard"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_ENDPOINT_URL", &format!("http://127.0.0.1:{}", server.port)),
    ]);
    command
}

#[test]
fn shards_over_a_local_s3_server_assemble_to_the_single_build() {
    if !common::require(common::Tool::S3sFs) {
        return;
    }
    let binary = common::s3s_fs().unwrap();
    let server = start_s3(&binary, "books");
    let root = tempfile::tempdir().unwrap();
    let store = "s3://books/shared/chunks";
    for k in 1..=2 {
        let out = root.path().join(format!("shard-{k}"));
        let spec = format!("{k}/2");
        let shard = with_s3(command("build", &out, &["--store", store, "--shard", &spec, "--json"]), &server);
        let report = shard_report(succeeded(&run(shard)));
        assert_eq!(report["chunks_rendered"], report["chunks_owned"], "{report}");
    }
    let out = root.path().join("assembled");
    succeeded(&run(with_s3(command("assemble", &out, &["--store", store]), &server)));
    assert_same_as_single(&out);

    // A bucket that is not there is one line naming the store, not a panic.
    let missing = with_s3(command("assemble", &root.path().join("x"), &["--store", "s3://nobucket/p"]), &server);
    let failed = run(missing);
    assert!(!failed.status.success());
    assert!(stderr(&failed).contains("s3://nobucket/p"), "{}", stderr(&failed));
}
