//! The programs audiobook runs rather than links (ffmpeg, espeak-ng, mecab): each user declares
//! one [`Program`] saying what it is for and how to install it, so that its own error messages
//! and `audiobook doctor` say the same thing.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// An executable found on `PATH`, and what it is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Program {
    /// The executable's name.
    pub name: &'static str,
    /// What cannot run without it, as a phrase ("m4b, mp3 and opus output").
    pub needed_for: &'static str,
    /// The command that installs it on Debian and Ubuntu.
    pub install: &'static str,
    /// The argument that makes it print its version.
    pub version_arg: &'static str,
}

impl Program {
    /// Where it is on `PATH`, if it is.
    pub fn find(&self) -> Option<PathBuf> {
        find_on_path(self.name)
    }

    /// The first line `path` prints when asked its version, if it answers.
    pub fn version(&self, path: &Path) -> Option<String> {
        let out = Command::new(path).arg(self.version_arg).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
        Some(line.chars().take(120).collect())
    }
}

/// The first executable file called `name` in the folders of `PATH`.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|candidate| is_executable(candidate))
}

/// Whether `path` is a file this user may run.
pub fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file() || path.with_extension("exe").is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_program_is_found_only_where_it_is_executable() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let tool = dir.path().join("tool");
        std::fs::write(&tool, "#!/bin/sh\necho 'tool 1.2'\n").unwrap();
        assert!(!is_executable(&tool));
        std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(is_executable(&tool));
        assert!(!is_executable(dir.path()), "a folder is not a program");
        let program = Program { name: "tool", needed_for: "testing", install: "-", version_arg: "--version" };
        assert_eq!(program.version(&tool).as_deref(), Some("tool 1.2"));
    }
}
