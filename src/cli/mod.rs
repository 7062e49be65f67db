//! The command line: parse, turn flags into the library's settings, run one subcommand, print an
//! error as one line, and exit with its [`ExitStatus`].

pub mod args;
mod build;
mod lexicon;
mod models;
mod plan;
pub mod printer;
mod progress;
mod say;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use self::args::{Cli, Command, LexiconCommand, ModelsCommand};
use self::printer::Printer;
use crate::error::{Error, ExitStatus, Result};
use crate::kokoro::assets;

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
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

pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(cli: &Cli, printer: &Printer) -> Result<ExitCode> {
    match &cli.command {
        Command::Build(args) => build::run(args, &cli.models, printer),
        Command::Plan(args) => plan::run(args, printer),
        Command::Say(args) => say::run(cli, args, printer),
        Command::Voices => models::list_voices(printer),
        Command::Lexicon(LexiconCommand::Scan(args)) => lexicon::scan(args, printer),
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
