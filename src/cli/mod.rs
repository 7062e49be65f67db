//! The command line: parse, run one subcommand, print the error as one line, pick the exit code.

pub mod args;
mod book;
pub mod engine;
mod models;
pub mod printer;
mod progress;
mod say;

use std::process::ExitCode;

use clap::Parser;

use self::args::{Cli, Command, ModelsCommand};
use self::printer::Printer;
use crate::error::{Error, Result};
use crate::kokoro::assets;

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let printer = Printer::new(cli.output.quiet, cli.output.verbose, cli.output.json);
    match run(&cli, &printer) {
        Ok(code) => code,
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("audiobook: error: {}", one_line(&err.to_string()));
            if let Some(hint) = err.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(err.exit_code())
        }
    }
}

fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(cli: &Cli, printer: &Printer) -> Result<ExitCode> {
    match &cli.command {
        Command::Build(args) => book::build(args, &cli.models, printer),
        Command::Plan(args) => book::plan(args, printer),
        Command::Say(args) => say::run(cli, args, printer),
        Command::Voices => models::list_voices(printer),
        Command::Models(ModelsCommand::Fetch) => {
            let files = assets::ensure(&engine::overrides(&cli.models), printer)?;
            models::status(&files, printer)
        }
        Command::Models(ModelsCommand::Status) => {
            let files = assets::locate(&engine::overrides(&cli.models))?;
            models::status(&files, printer)
        }
    }
}
