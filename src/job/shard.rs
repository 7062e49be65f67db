//! Sharding: which machine of N renders which chunk. Input: the plan's chunk keys with their
//! cost (token count, which the audio length and render time follow). Output: each key's
//! shard, the same on every machine with the same plan and N, so the shards need no
//! coordinator; and what a shard run reports.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// Shard `index` (0-based) of `count`; written and parsed 1-based, `K/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

/// Why a shard could not be worked out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardError {
    #[error("--shard {0}: expected K/N with 1 <= K <= N, such as 2/3")]
    Malformed(String),
    #[error(
        "--shard: no shard given and no job array in the environment (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX with AUDIOBOOK_SHARDS)"
    )]
    NoEnvironment,
    #[error("{name}={value}: {problem}")]
    Environment { name: &'static str, value: String, problem: String },
    #[error("{0} needs --store: the folder or URL the shards share")]
    NeedsStore(&'static str),
    #[error("assemble renders nothing; give --shard to `audiobook build`")]
    ShardInAssemble,
}

/// Most shards one book may be split into; more is surely a typo.
pub const MAX_SHARDS: usize = 100_000;

impl Shard {
    /// The shard `--shard` names: `K/N`, or with no value (`""`) the job array's environment.
    pub fn from_flag(value: &str) -> Result<Self, ShardError> {
        if value.is_empty() { Self::from_env(|name| std::env::var(name).ok()) } else { Self::parse(value) }
    }

    /// Parses `K/N` (1-based).
    pub fn parse(text: &str) -> Result<Self, ShardError> {
        let malformed = || ShardError::Malformed(text.to_string());
        let (k, n) = text.split_once('/').ok_or_else(malformed)?;
        let k: usize = k.trim().parse().map_err(|_| malformed())?;
        let n: usize = n.trim().parse().map_err(|_| malformed())?;
        if k == 0 || k > n || n > MAX_SHARDS {
            return Err(malformed());
        }
        Ok(Self { index: k - 1, count: n })
    }

    /// The shard a job array's environment gives this task: Slurm's array (the task id counted
    /// from the array's first id, which need not be 0) or a Kubernetes Indexed Job
    /// (`JOB_COMPLETION_INDEX`, with the completions count in `AUDIOBOOK_SHARDS`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, ShardError> {
        let number = |name: &'static str| -> Result<Option<usize>, ShardError> {
            let Some(value) = var(name) else { return Ok(None) };
            let problem =
                |problem: &str| ShardError::Environment { name, value: value.clone(), problem: problem.into() };
            value.trim().parse().map(Some).map_err(|_| problem("not a whole number"))
        };
        let (position, count, name) = if let Some(id) = number("SLURM_ARRAY_TASK_ID")? {
            let min = number("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
            let count = number("SLURM_ARRAY_TASK_COUNT")?;
            (id.checked_sub(min), count, "SLURM_ARRAY_TASK_ID")
        } else if let Some(index) = number("JOB_COMPLETION_INDEX")? {
            (Some(index), number("AUDIOBOOK_SHARDS")?, "JOB_COMPLETION_INDEX")
        } else {
            return Err(ShardError::NoEnvironment);
        };
        let value = var(name).unwrap_or_default();
        let Some(count) = count.filter(|&n| (1..=MAX_SHARDS).contains(&n)) else {
            let problem = if name == "JOB_COMPLETION_INDEX" {
                "set AUDIOBOOK_SHARDS to the Job's completions count"
            } else {
                "SLURM_ARRAY_TASK_COUNT is missing or not between 1 and 100000"
            };
            return Err(ShardError::Environment { name, value, problem: problem.into() });
        };
        match position {
            Some(index) if index < count => Ok(Self { index, count }),
            _ => Err(ShardError::Environment { name, value, problem: format!("outside an array of {count} tasks") }),
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

/// Each distinct key's shard (0-based), balancing the summed cost: the costliest chunks are
/// placed first, each on the shard with the least cost so far (ties: the lowest shard; equal
/// costs are taken in key order), so the result depends only on the keys, costs and N.
pub fn assign(chunks: &[(&str, usize)], count: usize) -> HashMap<String, usize> {
    let mut distinct: Vec<(&str, usize)> = chunks.to_vec();
    distinct.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    distinct.dedup_by(|a, b| a.0 == b.0);
    let mut load = vec![0usize; count.max(1)];
    let mut owners = HashMap::with_capacity(distinct.len());
    for (key, cost) in distinct {
        let (shard, _) = load.iter().enumerate().min_by_key(|&(i, l)| (*l, i)).unwrap_or((0, &0));
        load[shard] += cost.max(1);
        owners.insert(key.to_string(), shard);
    }
    owners
}

/// What a shard run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardReport {
    /// `K/N`.
    pub shard: String,
    /// The store, as given.
    pub store: String,
    /// Chunks of the book, and of them this shard's.
    pub chunks_total: usize,
    pub chunks_owned: usize,
    /// Token ids in this shard's chunks (its share of the work).
    pub tokens_owned: usize,
    /// This shard's chunks the store held already (an earlier or another run).
    pub chunks_already_stored: usize,
    pub chunks_rendered: usize,
    pub chunks_failed: usize,
    pub audio_ms_rendered: u64,
    /// Chunk bytes rendered this run, raw and as stored (compressed).
    pub bytes_raw: u64,
    pub bytes_stored: u64,
    pub interrupted: bool,
}

/// The store's record of a book's sharding: how many shards it was split into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlanRecord {
    pub shards: usize,
    pub chunks: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_one_based_and_refuse_nonsense() {
        assert_eq!(Shard::parse("2/3").unwrap(), Shard { index: 1, count: 3 });
        assert_eq!(Shard::parse("1/1").unwrap().to_string(), "1/1");
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", "-1/2", "1/1000000"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn job_arrays_give_the_shard() {
        fn env<'a>(pairs: &'a [(&str, &str)]) -> impl Fn(&str) -> Option<String> + 'a {
            move |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
        }
        let slurm = [("SLURM_ARRAY_TASK_ID", "7"), ("SLURM_ARRAY_TASK_MIN", "5"), ("SLURM_ARRAY_TASK_COUNT", "3")];
        assert_eq!(Shard::from_env(env(&slurm)).unwrap(), Shard { index: 2, count: 3 });
        let k8s = [("JOB_COMPLETION_INDEX", "0"), ("AUDIOBOOK_SHARDS", "4")];
        assert_eq!(Shard::from_env(env(&k8s)).unwrap(), Shard { index: 0, count: 4 });
        assert_eq!(Shard::from_env(env(&[])), Err(ShardError::NoEnvironment));
        let err = Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0")])).unwrap_err().to_string();
        assert!(err.contains("AUDIOBOOK_SHARDS"), "{err}");
        let past = [("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "3")];
        assert!(Shard::from_env(env(&past)).unwrap_err().to_string().contains("outside"));
        let word = [("SLURM_ARRAY_TASK_ID", "x"), ("SLURM_ARRAY_TASK_COUNT", "3")];
        assert!(Shard::from_env(env(&word)).unwrap_err().to_string().starts_with("SLURM_ARRAY_TASK_ID=x"));
    }

    #[test]
    fn assignment_balances_cost_and_ignores_input_order() {
        let keys: Vec<String> = (0..40).map(|i| format!("{:08x}", i * 2_654_435_761u64 % 4_294_967_291)).collect();
        let chunks: Vec<(&str, usize)> = keys.iter().enumerate().map(|(i, k)| (k.as_str(), 10 + i * 7 % 300)).collect();
        let owners = assign(&chunks, 3);
        let mut reversed = chunks.clone();
        reversed.reverse();
        assert_eq!(assign(&reversed, 3), owners);
        let mut load = [0usize; 3];
        for (key, cost) in &chunks {
            load[owners[*key]] += cost;
        }
        let (max, min) = (load.iter().max().unwrap(), load.iter().min().unwrap());
        let biggest = chunks.iter().map(|c| c.1).max().unwrap();
        assert!(max - min <= biggest, "{load:?}");
        // A repeated key is one chunk, on one shard.
        let twice = [("a", 5), ("a", 5), ("b", 5)];
        assert_eq!(assign(&twice, 2).len(), 2);
    }
}
