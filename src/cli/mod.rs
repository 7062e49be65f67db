//! The command line: parse, turn flags into the library's settings, run one subcommand, print an
//! error as one line, and exit with its [`ExitStatus`].

pub mod args;
mod build;
mod models;
mod plan;
pub mod printer;
mod progress;
mod say;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use self::args::{Cli, Command, ModelsCommand};
use self::printer::Printer;
use crate::error::{Error, ExitStatus, Result};
use crate::kokoro::assets;

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e),
    };
    let printer = Printer::new(cli.output.quiet, cli.output.verbose, cli.output.json);
    match run(&cli, &printer) {
        Ok(code) => code,
        // A closed pipe (`| head`) means the reader has what it wanted.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => ExitStatus::Success.into(),
        Err(err) => {
            printer.error(&one_line(&err.to_string()), err.hint().as_deref());
            err.exit_status().into()
        }
    }
}

/// A command-line mistake in our one-line form, with clap's tip or the usage as the hint;
/// `--help` and `--version` print as clap prints them.
fn usage_error(e: &clap::Error) -> ExitCode {
    // Help and version, and the help shown for a bare `audiobook`, go out as clap writes them.
    if !e.use_stderr() || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        return u8::try_from(e.exit_code()).map_or(ExitStatus::Failure.into(), ExitCode::from);
    }
    let text = e.render().to_string();
    let (mut message, mut tip, mut usage) = (String::new(), None, None);
    for block in text.split("\n\n").map(str::trim) {
        if let Some(error) = block.strip_prefix("error: ") {
            message = one_line(error);
        } else if let Some(text) = block.strip_prefix("tip: ") {
            tip = Some(one_line(text));
        } else if let Some(text) = block.strip_prefix("Usage: ") {
            usage = Some(format!("usage: {}", one_line(text)));
        }
    }
    Printer::new(false, false, false).error(&message, tip.or(usage).as_deref());
    ExitStatus::Failure.into()
}

pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(cli: &Cli, printer: &Printer) -> Result<ExitCode> {
    match &cli.command {
        Command::Build(args) => build::run(args, &cli.models, printer),
        Command::Plan(args) => plan::run(args, printer),
        Command::Say(args) => say::run(cli, args, printer),
        Command::Voices => models::list_voices(printer),
        Command::Models(ModelsCommand::Fetch) => {
            let files = assets::ensure(&settings::asset_overrides(&cli.models), printer)?;
            models::status(&files, printer)
        }
        Command::Models(ModelsCommand::Status) => {
            let files = assets::locate(&settings::asset_overrides(&cli.models))?;
            models::status(&files, printer)
        }
    }
}
