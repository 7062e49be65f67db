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
    /// Whether a build shows a bar or periodic progress lines (`--no-progress` turns it off).
    pub progress: bool,
}

impl Printer {
    pub fn new(quiet: bool, verbose: bool, json: bool) -> Self {
        Self { quiet, verbose, json, stderr_is_terminal: std::io::stderr().is_terminal(), progress: true }
    }

    /// A progress or status message.
    pub fn info(&self, message: &str) {
        if !self.quiet {
            eprintln!("{}", terminal_safe(message));
        }
    }

    /// Detail shown with `--verbose`.
    pub fn detail(&self, message: &str) {
        if self.verbose {
            eprintln!("{}", terminal_safe(message));
        }
    }

    /// Something the user should know even when things go on.
    pub fn warn(&self, message: &str) {
        if !self.quiet {
            eprintln!("audiobook: warning: {}", terminal_safe(message));
        }
    }

    /// What must be said even with `--quiet`: how a stopped or partial build can go on.
    pub fn important(&self, message: &str) {
        eprintln!("{}", terminal_safe(message));
    }

    /// An error line, then its hint.
    pub fn error(&self, message: &str, hint: Option<&str>) {
        eprintln!("audiobook: error: {}", terminal_safe(message));
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

/// Text from a book made safe to print on a terminal: control characters (escape sequences,
/// bells) and bidirectional overrides, which a hostile title could use to rewrite what the user
/// sees, become U+FFFD. Line breaks stay.
pub fn terminal_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
    };
    if text.chars().any(unsafe_char) {
        text.chars().map(|c| if unsafe_char(c) { '\u{fffd}' } else { c }).collect::<String>().into()
    } else {
        text.into()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_bells_and_direction_overrides_never_reach_the_terminal() {
        assert_eq!(
            terminal_safe("Title\u{1b}[31m red\u{7} \u{202e}evil"),
            "Title\u{fffd}[31m red\u{fffd} \u{fffd}evil"
        );
        assert_eq!(terminal_safe("Plain «title»\n"), "Plain «title»\n");
    }
}
