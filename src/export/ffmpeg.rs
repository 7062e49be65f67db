//! The system ffmpeg as an encoder: found on PATH, fed f32le PCM on stdin, its stderr kept in a
//! buffer for the error message, writing `NAME.part` that is renamed over `NAME` only when ffmpeg
//! succeeds, so a killed or failed encode never leaves a half file under the real name. ffmpeg
//! runs in its own process group, so Ctrl-C reaches only us: the encoder then stops feeding it
//! and the build ends as interrupted, not as an ffmpeg failure.

use std::ffi::OsString;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

use super::ExportError;
use super::sink::AudioSink;
use crate::kokoro::SAMPLE_RATE;
use crate::program::Program;

/// ffmpeg, as `audiobook doctor` and the errors describe it.
pub const PROGRAM: Program = Program {
    name: "ffmpeg",
    needed_for: "m4b, mp3 and opus output (build --format), and the server's mp3, opus, flac and aac",
    install: "apt install ffmpeg",
    version_arg: "-version",
};

/// The ffmpeg executable on PATH, if there is one.
pub fn find() -> Option<PathBuf> {
    PROGRAM.find()
}

/// One running ffmpeg that encodes the PCM it is given into `target`.
pub struct Encoder<'a> {
    /// Set by Ctrl-C: the next samples are refused with [`ExportError::Interrupted`].
    stop: &'a AtomicBool,
    child: Child,
    stdin: Option<BufWriter<ChildStdin>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    part: PathBuf,
    target: PathBuf,
}

impl<'a> Encoder<'a> {
    /// Starts ffmpeg with input 0 the PCM on stdin, then `args` (more inputs, maps, codecs,
    /// tags, the muxer with `-f`), writing to `target` with `.part` added.
    pub fn start(ffmpeg: &Path, args: &[OsString], target: &Path, stop: &'a AtomicBool) -> Result<Self, ExportError> {
        let mut part = target.as_os_str().to_owned();
        part.push(".part");
        let part = PathBuf::from(part);
        let rate = SAMPLE_RATE.to_string();
        let mut command = Command::new(ffmpeg);
        command
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(["-f", "f32le", "-ar", rate.as_str(), "-ac", "1", "-i", "pipe:0"])
            .args(args)
            .arg(&part)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let mut child = command.spawn().map_err(|source| ExportError::Spawn { path: target.into(), source })?;
        // Drained on its own thread so a chatty ffmpeg never blocks on a full stderr pipe while
        // we block on its full stdin.
        let stderr = child.stderr.take().map(|mut stderr| {
            std::thread::spawn(move || {
                let mut buffer = Vec::new();
                let _ = stderr.read_to_end(&mut buffer);
                buffer
            })
        });
        let stdin = child.stdin.take().map(|s| BufWriter::with_capacity(1 << 16, s));
        Ok(Self { stop, child, stdin, stderr, part, target: target.into() })
    }

    /// Ends the input and waits for ffmpeg. `streamed` is how feeding it went: when ffmpeg failed,
    /// its own last line says why (a broken pipe on our side is only the symptom); when it
    /// succeeded the file is renamed into place, unless feeding it failed.
    pub fn finish(mut self, streamed: Result<(), ExportError>) -> Result<(), ExportError> {
        let flushed = self.stdin.take().map_or(Ok(()), |mut s| s.flush());
        let status = self.child.wait();
        let stderr = self.stderr.take().and_then(|t| t.join().ok()).unwrap_or_default();
        let ok = matches!(&status, Ok(s) if s.success());
        let result = if !ok {
            let last_line = last_line(&stderr).unwrap_or_else(|| describe(&status));
            Err(ExportError::Ffmpeg { path: self.target.clone(), last_line })
        } else {
            streamed.and_then(|()| flushed.map_err(|source| ExportError::Io { path: self.target.clone(), source }))
        };
        match result {
            Ok(()) => std::fs::rename(&self.part, &self.target)
                .map_err(|source| ExportError::Io { path: self.target.clone(), source }),
            Err(e) => {
                let _ = std::fs::remove_file(&self.part);
                Err(e)
            }
        }
    }
}

/// ffmpeg's last non-empty line on stderr: with `-loglevel error`, why it failed.
/// Encodes `samples` in memory: ffmpeg reads them on stdin and writes the file on stdout, with
/// `args` choosing the codec and the muxer (for a server, which writes no files). `what` names the
/// result in errors.
pub fn encode_in_memory(ffmpeg: &Path, samples: &[f32], args: &[&str], what: &str) -> Result<Vec<u8>, ExportError> {
    let path = PathBuf::from(what);
    let rate = SAMPLE_RATE.to_string();
    let mut child = Command::new(ffmpeg)
        .args(["-hide_banner", "-loglevel", "error"])
        .args(["-f", "f32le", "-ar", rate.as_str(), "-ac", "1", "-i", "pipe:0"])
        .args(args)
        .arg("pipe:1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| ExportError::Spawn { path: path.clone(), source })?;
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let mut stdin = child.stdin.take();
    // Fed on its own thread: ffmpeg's stdout must be read while it still takes input.
    let feeder = std::thread::spawn(move || stdin.as_mut().map(|s| s.write_all(&bytes)));
    let output = child.wait_with_output().map_err(|source| ExportError::Io { path: path.clone(), source })?;
    let _ = feeder.join();
    if !output.status.success() {
        let last_line = last_line(&output.stderr).unwrap_or_else(|| describe(&Ok(output.status)));
        return Err(ExportError::Ffmpeg { path, last_line });
    }
    Ok(output.stdout)
}

pub(super) fn last_line(stderr: &[u8]) -> Option<String> {
    String::from_utf8_lossy(stderr).lines().map(str::trim).rfind(|l| !l.is_empty()).map(str::to_owned)
}

fn describe(status: &std::io::Result<std::process::ExitStatus>) -> String {
    match status {
        Ok(s) => format!("ffmpeg exited with {s} and said nothing"),
        Err(e) => format!("cannot wait for ffmpeg: {e}"),
    }
}

impl AudioSink for Encoder<'_> {
    fn samples(&mut self, samples: &[f32]) -> Result<(), ExportError> {
        if self.stop.load(Ordering::SeqCst) {
            return Err(ExportError::Interrupted);
        }
        let Some(stdin) = self.stdin.as_mut() else { return Ok(()) };
        let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        stdin.write_all(&bytes).map_err(|source| ExportError::Io { path: self.target.clone(), source })
    }
}

#[cfg(test)]
#[cfg(unix)]
mod tests {
    use super::*;

    /// A stand-in for ffmpeg: a shell script with `body`, its last argument the output file.
    fn fake(dir: &Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("fake-ffmpeg");
        std::fs::write(&path, format!("#!/bin/sh\nfor a; do out=$a; done\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn a_failing_ffmpeg_is_named_with_its_last_line_and_leaves_no_part_file() {
        let dir = tempfile::tempdir().unwrap();
        let ffmpeg = fake(dir.path(), "cat > \"$out\"; echo 'a warning' >&2; echo \"Unknown encoder 'x'\" >&2; exit 1");
        let target = dir.path().join("book.m4b");
        let go = AtomicBool::new(false);
        let mut encoder = Encoder::start(&ffmpeg, &[], &target, &go).unwrap();
        let streamed = encoder.samples(&[0.5; 1000]);
        let err = encoder.finish(streamed).unwrap_err();
        assert_eq!(err.to_string(), format!("{}: ffmpeg failed: Unknown encoder 'x'", target.display()));
        assert!(!target.exists() && !dir.path().join("book.m4b.part").exists());
    }

    #[test]
    fn a_finished_encode_is_renamed_into_place_with_every_sample() {
        let dir = tempfile::tempdir().unwrap();
        let ffmpeg = fake(dir.path(), "cat > \"$out\"");
        let target = dir.path().join("01-one.mp3");
        let go = AtomicBool::new(false);
        let mut encoder = Encoder::start(&ffmpeg, &[], &target, &go).unwrap();
        let streamed = encoder.samples(&[0.25; 100_000]);
        encoder.finish(streamed).unwrap();
        assert_eq!(std::fs::read(&target).unwrap().len(), 400_000, "f32le, every sample");
        assert!(!dir.path().join("01-one.mp3.part").exists());
    }

    #[test]
    fn ctrl_c_stops_the_feed_and_leaves_neither_the_file_nor_its_part() {
        let dir = tempfile::tempdir().unwrap();
        let ffmpeg = fake(dir.path(), "cat > \"$out\"");
        let target = dir.path().join("book.m4b");
        let stop = AtomicBool::new(false);
        let mut encoder = Encoder::start(&ffmpeg, &[], &target, &stop).unwrap();
        encoder.samples(&[0.25; 1000]).unwrap();
        stop.store(true, Ordering::SeqCst);
        let streamed = encoder.samples(&[0.25; 1000]);
        assert!(matches!(encoder.finish(streamed), Err(ExportError::Interrupted)));
        assert!(!target.exists() && !dir.path().join("book.m4b.part").exists());
    }
}
