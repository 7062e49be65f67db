//! A job's output folder: the lock, the content-addressed chunk store and the output files.
//!
//! `OUTDIR/.audiobook/` holds a lock (one build per folder at a time), the rendered chunks
//! (`chunks/KEY.chunk`, written atomically: a chunk file that exists is complete) and
//! `manifest.json`. Every write is atomic, so a process killed at any moment leaves each file
//! either whole or absent; the temp file it was writing goes when the folder is opened again.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::JobError;
use super::manifest::Manifest;
use crate::atomic::{self, AtomicFile};
use crate::kokoro::{Rendered, SAMPLES_PER_FRAME};

/// The folder inside OUTDIR that holds the job's state.
pub const STATE_DIR: &str = ".audiobook";
const CHUNK_MAGIC: &[u8; 8] = b"ABCHUNK1";

/// How long a lock whose holder is exiting is waited for: a killed build keeps its lock until its
/// memory (the model's included) is torn down, a moment after the kill.
pub const EXITING_HOLDER_WAIT: Duration = Duration::from_secs(5);

/// Whether the process holding `lock` is exiting or gone: killed (a SIGKILL pending), flagged as
/// exiting, a zombie, or no longer there. Only Linux says (/proc/locks names a lock's holder).
#[cfg(target_os = "linux")]
fn holder_is_exiting(lock: &File) -> bool {
    use std::os::unix::fs::MetadataExt;
    let (Ok(meta), Ok(locks)) = (lock.metadata(), fs::read_to_string("/proc/locks")) else { return false };
    // The kernel's "major:minor:inode" of the file, from the user-space device number.
    let dev = meta.dev();
    let (major, minor) = (((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff), (dev & 0xff) | ((dev >> 12) & !0xff));
    let id = format!("{major:02x}:{minor:02x}:{}", meta.ino());
    // "1: FLOCK  ADVISORY  WRITE PID ID 0 EOF"; waiters' lines have "->" and are not holders.
    let holder = locks.lines().filter(|line| !line.contains("->")).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(5) == Some(&id.as_str())).then(|| fields.get(4).and_then(|pid| pid.parse::<u32>().ok()))
    });
    match holder {
        // Let go since try_lock: try again.
        None => true,
        Some(Some(pid)) if pid > 0 => process_is_exiting(pid),
        // A holder in another PID namespace (shown as 0) or unreadable: not known to be exiting.
        Some(_) => false,
    }
}

#[cfg(target_os = "linux")]
fn process_is_exiting(pid: u32) -> bool {
    const PF_EXITING: u64 = 0x4;
    const SIGKILL_BIT: u64 = 1 << 8;
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let (Ok(stat), Ok(status)) = (fs::read_to_string(proc.join("stat")), fs::read_to_string(proc.join("status")))
    else {
        return !proc.exists();
    };
    // After the command name in parentheses: state, then five fields, then the flags.
    let fields: Vec<&str> = stat.rsplit_once(')').map_or(vec![], |(_, rest)| rest.split_whitespace().collect());
    let zombie = fields.first().is_some_and(|state| matches!(*state, "Z" | "X" | "x"));
    let flagged = fields.get(6).and_then(|f| f.parse::<u64>().ok()).is_some_and(|f| f & PF_EXITING != 0);
    let killed = status.lines().any(|line| {
        let pending = line.strip_prefix("SigPnd:").or_else(|| line.strip_prefix("ShdPnd:"));
        pending.and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok()).is_some_and(|mask| mask & SIGKILL_BIT != 0)
    });
    zombie || flagged || killed
}

#[cfg(not(target_os = "linux"))]
fn holder_is_exiting(_lock: &File) -> bool {
    false
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> JobError + '_ {
    move |source| JobError::Io { path: path.to_path_buf(), source }
}

/// An output folder, locked for one build.
#[derive(Debug)]
pub struct JobDir {
    root: PathBuf,
    _lock: File,
}

impl JobDir {
    /// Creates the folder if needed and takes its lock; a second build gets [`JobError::Busy`],
    /// after up to [`EXITING_HOLDER_WAIT`] where the lock's holder is a process on its way out.
    pub fn open(root: &Path) -> Result<Self, JobError> {
        if root.exists() && !root.is_dir() {
            return Err(JobError::NotAFolder(root.to_path_buf()));
        }
        let state = root.join(STATE_DIR);
        fs::create_dir_all(state.join("chunks")).map_err(io_err(&state))?;
        let lock_path = state.join("lock");
        let lock =
            File::options().create(true).truncate(false).write(true).open(&lock_path).map_err(io_err(&lock_path))?;
        let deadline = Instant::now() + EXITING_HOLDER_WAIT;
        loop {
            match lock.try_lock() {
                Ok(()) => break,
                Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline && holder_is_exiting(&lock) => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(fs::TryLockError::WouldBlock) => return Err(JobError::Busy(root.to_path_buf())),
                Err(fs::TryLockError::Error(e)) => return Err(io_err(&lock_path)(e)),
            }
        }
        // The lock is ours, so any temp file here is a killed run's.
        for dir in [root.to_path_buf(), state.clone(), state.join("chunks")] {
            atomic::remove_leftovers(&dir);
        }
        Ok(Self { root: root.to_path_buf(), _lock: lock })
    }

    /// The output folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn chunk_path(&self, key: &str) -> PathBuf {
        self.root.join(STATE_DIR).join("chunks").join(format!("{key}.chunk"))
    }

    /// Whether a chunk's audio is on disk.
    pub fn has_chunk(&self, key: &str) -> bool {
        self.chunk_path(key).is_file()
    }

    /// Stores a chunk's audio and frames atomically.
    pub fn write_chunk(&self, key: &str, rendered: &Rendered) -> Result<(), JobError> {
        self.write_chunk_bytes(key, &encode_chunk(rendered))
    }

    /// Stores a chunk file's bytes (from [`encode_chunk`], or a chunk store) atomically; bytes
    /// that are no whole chunk are refused.
    pub fn write_chunk_bytes(&self, key: &str, bytes: &[u8]) -> Result<(), JobError> {
        let path = self.chunk_path(key);
        if decode_chunk(bytes).is_none() {
            return Err(io_err(&path)(io::Error::new(io::ErrorKind::InvalidData, "not a complete chunk")));
        }
        atomic::write(&path, bytes).map_err(io_err(&path))
    }

    /// A chunk file's bytes as stored.
    pub fn read_chunk_bytes(&self, key: &str) -> Result<Vec<u8>, JobError> {
        let path = self.chunk_path(key);
        fs::read(&path).map_err(io_err(&path))
    }

    /// Reads a chunk back; a file that does not hold a whole chunk is an error.
    pub fn read_chunk(&self, key: &str) -> Result<Rendered, JobError> {
        let path = self.chunk_path(key);
        let mut bytes = Vec::new();
        File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes)).map_err(io_err(&path))?;
        decode_chunk(&bytes).ok_or_else(|| {
            io_err(&path)(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a complete chunk file; delete it to render it again",
            ))
        })
    }

    /// Deletes a chunk's audio once its chapter is assembled.
    pub fn remove_chunk(&self, key: &str) {
        // Best effort: a leftover chunk file costs disk space, never correctness.
        let _ = fs::remove_file(self.chunk_path(key));
    }

    /// Keys of every chunk on disk.
    pub fn chunk_keys(&self) -> Vec<String> {
        let dir = self.root.join(STATE_DIR).join("chunks");
        let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
        entries.filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".chunk").map(str::to_owned)).collect()
    }

    fn manifest_path(&self) -> PathBuf {
        self.root.join(STATE_DIR).join("manifest.json")
    }

    /// The manifest of an earlier run, if there is a readable one.
    pub fn load_manifest(&self) -> Option<Manifest> {
        let bytes = fs::read(self.manifest_path()).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// Writes the manifest atomically.
    pub fn save_manifest(&self, manifest: &Manifest) -> Result<(), JobError> {
        let path = self.manifest_path();
        let json =
            serde_json::to_vec_pretty(manifest).map_err(|source| JobError::Json { path: path.clone(), source })?;
        atomic::write(&path, &json).map_err(io_err(&path))
    }

    /// Starts writing an output file in the folder.
    pub fn create_output(&self, name: &str) -> Result<AtomicFile, JobError> {
        let path = self.root.join(name);
        AtomicFile::create(&path).map_err(io_err(&path))
    }

    /// Writes a whole output file atomically.
    pub fn write_output(&self, name: &str, bytes: &[u8]) -> Result<(), JobError> {
        let path = self.root.join(name);
        let mut file = AtomicFile::create(&path).map_err(io_err(&path))?;
        file.write_all(bytes).and_then(|_| file.commit()).map_err(io_err(&path))
    }

    /// An output file's bytes, if it can be read.
    pub fn read_output(&self, name: &str) -> Option<Vec<u8>> {
        fs::read(self.root.join(name)).ok()
    }

    /// Whether an output file exists.
    pub fn has_output(&self, name: &str) -> bool {
        self.root.join(name).is_file()
    }

    /// Removes an output file of an earlier run that this run does not make.
    pub fn remove_output(&self, name: &str) {
        let _ = fs::remove_file(self.root.join(name));
    }
}

/// A chunk's file bytes: a magic, the frame count, the frames, then the samples as f32.
pub fn encode_chunk(rendered: &Rendered) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(12 + rendered.frames.len() * 4 + rendered.samples.len() * 4);
    bytes.extend_from_slice(CHUNK_MAGIC);
    bytes.extend_from_slice(&(rendered.frames.len() as u32).to_le_bytes());
    bytes.extend(rendered.frames.iter().flat_map(|f| f.to_le_bytes()));
    bytes.extend(rendered.samples.iter().flat_map(|s| s.to_le_bytes()));
    bytes
}

fn decode_chunk(bytes: &[u8]) -> Option<Rendered> {
    let rest = bytes.strip_prefix(CHUNK_MAGIC)?;
    let count = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let frame_bytes = rest.get(4..4 + count * 4)?;
    let frames: Vec<u32> = frame_bytes.chunks_exact(4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    let sample_bytes = &rest[4 + count * 4..];
    let total: usize = frames.iter().map(|&f| f as usize).sum();
    if sample_bytes.len() != total * SAMPLES_PER_FRAME * 4 {
        return None;
    }
    let samples = sample_bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Some(Rendered { samples, frames })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_files_round_trip_and_truncated_ones_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let job = JobDir::open(dir.path()).unwrap();
        let rendered = Rendered { samples: vec![0.5; 3 * SAMPLES_PER_FRAME], frames: vec![1, 2] };
        job.write_chunk("k", &rendered).unwrap();
        assert!(job.has_chunk("k"));
        assert_eq!(job.read_chunk("k").unwrap(), rendered);
        assert_eq!(job.chunk_keys(), ["k"]);
        let path = job.chunk_path("k");
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 4]).unwrap();
        assert!(job.read_chunk("k").unwrap_err().to_string().contains("not a complete chunk"));
    }

    #[test]
    fn a_second_build_in_the_same_folder_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let first = JobDir::open(dir.path()).unwrap();
        assert!(matches!(JobDir::open(dir.path()), Err(JobError::Busy(_))));
        drop(first);
        assert!(JobDir::open(dir.path()).is_ok());
    }

    /// A lock taken by a process that has exited while a child it started still holds it (the
    /// lock is the open file's, which the child shares): to the next build, its holder is gone.
    /// The child is killed after `release_after`.
    #[cfg(target_os = "linux")]
    fn held_for_a_dead_process(dir: &Path, release_after: Duration) -> std::thread::JoinHandle<()> {
        drop(JobDir::open(dir).unwrap());
        let lock_path = dir.join(STATE_DIR).join("lock");
        let script = r#"exec 9>>"$1"; flock -n 9 || exit 1; sleep 60 >/dev/null 2>&1 & echo $!"#;
        let out = std::process::Command::new("sh").args(["-c", script, "sh"]).arg(&lock_path).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let sleeper = String::from_utf8(out.stdout).unwrap().trim().to_string();
        std::thread::spawn(move || {
            std::thread::sleep(release_after);
            let _ = std::process::Command::new("kill").arg(&sleeper).status();
        })
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_lock_whose_holder_is_exiting_is_waited_for_and_a_live_holder_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let releaser = held_for_a_dead_process(dir.path(), Duration::from_millis(500));
        let job = JobDir::open(dir.path()).unwrap();
        assert!(started.elapsed() >= Duration::from_millis(500));
        releaser.join().unwrap();

        // This process is alive and not exiting: refused at once.
        let started = Instant::now();
        assert!(matches!(JobDir::open(dir.path()), Err(JobError::Busy(_))));
        assert!(started.elapsed() < Duration::from_secs(1));
        drop(job);

        // An exiting holder that never lets go is waited for only so long.
        let dir = tempfile::tempdir().unwrap();
        let started = Instant::now();
        let releaser = held_for_a_dead_process(dir.path(), EXITING_HOLDER_WAIT + Duration::from_secs(2));
        assert!(matches!(JobDir::open(dir.path()), Err(JobError::Busy(_))));
        assert!(started.elapsed() >= EXITING_HOLDER_WAIT);
        releaser.join().unwrap();
    }

    #[test]
    fn temp_files_a_killed_run_left_go_when_the_folder_is_opened_again() {
        let dir = tempfile::tempdir().unwrap();
        drop(JobDir::open(dir.path()).unwrap());
        let chunks = dir.path().join(STATE_DIR).join("chunks");
        let left = [
            dir.path().join(".partial-a1"),
            dir.path().join(STATE_DIR).join(".partial-b2"),
            chunks.join(".partial-c3"),
        ];
        for path in &left {
            fs::write(path, b"half a file").unwrap();
        }
        fs::write(chunks.join("k.chunk"), b"kept").unwrap();
        fs::write(dir.path().join("notes.partial-kept"), b"kept").unwrap();
        let _job = JobDir::open(dir.path()).unwrap();
        assert!(left.iter().all(|p| !p.exists()));
        assert!(chunks.join("k.chunk").exists() && dir.path().join("notes.partial-kept").exists());
    }
}
