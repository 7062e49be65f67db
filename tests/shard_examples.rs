//! The sharding recipes under examples/ are checked without a cluster: the Kubernetes Indexed
//! Job and the GitHub Actions matrix parse as YAML with the fields their engines need, their
//! shard counts agree, shards and assemble share the input, settings and store, and every
//! audiobook command in them parses with the real command line. The Slurm scripts are run for
//! real by .ci/slurm; here they are checked with `bash -n`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use audiobook::cli::args::{Cli, Command};
use clap::Parser;
use serde_yaml_ng::Value;

fn example(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples").join(path)
}

fn yaml(path: &str) -> Value {
    let text = std::fs::read_to_string(example(path)).unwrap();
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn strings(value: &Value) -> Vec<String> {
    value.as_sequence().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect()
}

/// The build or assemble arguments of a command line, as the real CLI parses them.
fn parse(words: &[String]) -> (bool, audiobook::cli::args::BuildArgs) {
    let cli = Cli::try_parse_from(words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
    match cli.command {
        Command::Build(args) => (false, args),
        Command::Assemble(args) => (true, args),
        _ => panic!("{words:?}: not build or assemble"),
    }
}

/// The one container of a Job.
fn container(job: &Value) -> &Value {
    let containers = job["spec"]["template"]["spec"]["containers"].as_sequence().unwrap();
    assert_eq!(containers.len(), 1);
    &containers[0]
}

fn env(container: &Value, name: &str) -> Option<String> {
    container["env"].as_sequence()?.iter().find(|e| e["name"] == name).map(|e| e["value"].as_str().unwrap().into())
}

#[test]
fn the_kubernetes_indexed_job_and_its_assemble_job_agree() {
    let shards = yaml("kubernetes/shards-job.yaml");
    assert_eq!(shards["apiVersion"], "batch/v1");
    assert_eq!(shards["kind"], "Job");
    let spec = &shards["spec"];
    assert_eq!(spec["completionMode"], "Indexed", "JOB_COMPLETION_INDEX is set only in Indexed Jobs");
    let completions = spec["completions"].as_u64().unwrap();
    assert!(completions >= 2 && spec["parallelism"].as_u64().unwrap() <= completions);
    assert_eq!(spec["template"]["spec"]["restartPolicy"], "Never");
    let shard = container(&shards);
    assert_eq!(env(shard, "AUDIOBOOK_SHARDS"), Some(completions.to_string()), "AUDIOBOOK_SHARDS = completions");
    let (assemble_cmd, shard_args) = parse(&strings(&shard["command"]));
    assert!(!assemble_cmd);
    assert_eq!(shard_args.share.shard.as_deref(), Some(""), "--shard without K/N reads the Job's index");
    let store = shard_args.share.store.clone().unwrap();
    assert!(store.starts_with("s3://"), "{store}");

    let assemble = yaml("kubernetes/assemble-job.yaml");
    assert_eq!(assemble["kind"], "Job");
    let (is_assemble, assemble_args) = parse(&strings(&container(&assemble)["command"]));
    assert!(is_assemble);
    assert_eq!(assemble_args.share.store.as_deref(), Some(store.as_str()));
    assert_eq!(assemble_args.inputs, shard_args.inputs);
    assert_eq!(assemble_args.voice.voice, shard_args.voice.voice);
    assert_eq!(assemble_args.voice.speed, shard_args.voice.speed);
    assert_eq!(assemble_args.chunks.chunk_target, shard_args.chunks.chunk_target);
}

#[test]
fn the_github_actions_matrix_covers_every_shard_once_before_assemble() {
    let workflow = yaml("github-actions/audiobook-shards.yml");
    let jobs = &workflow["jobs"];
    let matrix: Vec<u64> = jobs["shard"]["strategy"]["matrix"]["shard"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let n = matrix.len() as u64;
    assert_eq!(matrix, (1..=n).collect::<Vec<_>>());
    assert_eq!(jobs["assemble"]["needs"], "shard");
    let settings = workflow["env"]["AUDIOBOOK_SETTINGS"].as_str().unwrap();
    let run = |job: &str, name_start: &str| -> String {
        let steps = jobs[job]["steps"].as_sequence().unwrap();
        let step = steps.iter().find(|s| s["name"].as_str().is_some_and(|n| n.starts_with(name_start))).unwrap();
        step["run"].as_str().unwrap().to_string()
    };
    // The shell's view of a run line: variables expanded (their values do not matter here).
    let words = |line: &str, shard: u64| -> Vec<String> {
        line.replace("${{ matrix.shard }}", &shard.to_string())
            .replace("$AUDIOBOOK_SETTINGS", settings)
            .replace("\"$AUDIOBOOK_STORE\"", "s3://bucket/prefix")
            .replace("\"$RUNNER_TEMP/out\"", "/tmp/out")
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let shard_line = run("shard", "Render");
    for k in 1..=n {
        let (assemble, args) = parse(&words(&shard_line, k));
        assert!(!assemble);
        assert_eq!(args.share.shard, Some(format!("{k}/{n}")));
    }
    let (assemble, args) = parse(&words(&run("assemble", "Assemble"), 1));
    assert!(assemble);
    assert_eq!(args.share.store.as_deref(), Some("s3://bucket/prefix"));
}

#[test]
fn the_slurm_scripts_are_valid_bash_and_use_the_array() {
    for script in ["slurm/shard.sbatch", "slurm/assemble.sbatch", "slurm/submit.sh"] {
        let status = std::process::Command::new("bash").arg("-n").arg(example(script)).status().unwrap();
        assert!(status.success(), "{script}");
    }
    let submit = std::fs::read_to_string(example("slurm/submit.sh")).unwrap();
    assert!(submit.contains("--array=") && submit.contains("--dependency=\"afterok:"));
    let shard = std::fs::read_to_string(example("slurm/shard.sbatch")).unwrap();
    assert!(shard.contains("--shard") && shard.contains("--store"));
}
