//! The one place that decides what goes to stdout (data only) and stderr (messages), by mode.

use std::io::{IsTerminal, Write};

use crate::kokoro::assets::FetchProgress;

/// Prints messages on stderr according to `--quiet`, `--verbose` and `--json`.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    pub quiet: bool,
    pub verbose: bool,
    pub json: bool,
    pub stderr_is_terminal: bool,
}

impl Printer {
    pub fn new(quiet: bool, verbose: bool, json: bool) -> Self {
        Self { quiet, verbose, json, stderr_is_terminal: std::io::stderr().is_terminal() }
    }

    /// A progress or status message.
    pub fn info(&self, message: &str) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    /// Detail shown with `--verbose`.
    pub fn detail(&self, message: &str) {
        if self.verbose {
            eprintln!("{message}");
        }
    }

    /// Something the user should know even when things go on.
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!("audiobook: warning: {message}");
        }
    }

    /// What must be said even with `--quiet`: how a stopped or partial build can go on.
    pub fn important(&self, message: &str) {
        eprintln!("{message}");
    }

    /// An error line, then its hint.
    pub fn error(&self, message: &str, hint: Option<&str>) {
        eprintln!("audiobook: error: {message}");
        if let Some(hint) = hint {
            eprintln!("hint: {hint}");
        }
    }

    /// Data for stdout, e.g. a JSON document.
    pub fn data(&self, text: &str) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            out.write_all(b"\n")?;
        }
        out.flush()
    }
}

impl FetchProgress for Printer {
    fn step(&self, message: &str) {
        self.info(&format!("audiobook: {message}"));
    }

    fn show_tool_output(&self) -> bool {
        !self.quiet && !self.json
    }
}
