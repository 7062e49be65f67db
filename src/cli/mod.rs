//! The command line: parse, turn flags into the library's settings, run one subcommand, print an
//! error as one line, and exit with its [`ExitStatus`].

pub mod args;
mod build;
pub mod config;
mod doctor;
mod lexicon;
mod models;
mod plan;
pub mod printer;
mod progress;
mod say;
mod serve;
mod settings;
mod status;

use std::process::ExitCode;

use self::args::{Cli, Command, LexiconCommand, ModelsCommand, ShellArg};
use self::printer::Printer;
use crate::error::{Error, ExitStatus, Result};
use crate::kokoro::assets;

/// Runs the command line and returns the process's exit code.
pub fn main() -> ExitCode {
    let resolved = config::resolve(std::env::args_os().collect());
    let (quiet, verbose, json) = match &resolved {
        Ok(r) => (r.cli.output.quiet, r.cli.output.verbose, r.cli.output.json),
        Err(_) => (false, false, false),
    };
    let mut printer = Printer::new(quiet, verbose, json);
    let outcome = resolved.and_then(|resolved| {
        printer.progress = !resolved.cli.output.no_progress;
        for file in &resolved.files {
            printer.detail(&format!("audiobook: config: {}", file.display()));
        }
        run(&resolved.cli, &printer)
    });
    match outcome {
        Ok(code) => code,
        // A closed pipe (`| head`) means the reader has what it wanted.
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::BrokenPipe => ExitStatus::Success.into(),
        Err(err) => {
            printer.error(&one_line(&err.to_string()), err.hint().as_deref());
            err.exit_status().into()
        }
    }
}

/// Ends the process on a command-line mistake, in our one-line form with clap's tip or the
/// usage as the hint; `--help` and `--version` print as clap prints them.
pub(crate) fn usage_error(e: &clap::Error) -> ! {
    // Help and version, and the help shown for a bare `audiobook`, go out as clap writes them.
    if !e.use_stderr() || e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        let _ = e.print();
        std::process::exit(e.exit_code());
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
    std::process::exit(i32::from(ExitStatus::Failure.code()))
}

/// `audiobook config`: the settings of the command given, and their origins.
fn show_config(command: &[std::ffi::OsString], printer: &Printer) -> Result<ExitCode> {
    let mut argv: Vec<std::ffi::OsString> = vec!["audiobook".into()];
    if command.is_empty() {
        argv.extend(["build".into(), ".".into()]);
    } else {
        argv.extend(command.iter().cloned());
    }
    let resolved = config::resolve(argv)?;
    let settings = resolved.settings();
    let out = if printer.json {
        let rows: Vec<serde_json::Value> = settings
            .iter()
            .map(|(key, value, origin)| serde_json::json!({ "key": key, "value": value, "origin": origin }))
            .collect();
        serde_json::json!({ "files": resolved.files, "settings": rows }).to_string()
    } else {
        let width = settings.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
        let mut text = String::new();
        if resolved.files.is_empty() {
            text += "# no config file (audiobook.toml beside the input or in the config folder)\n";
        }
        for file in &resolved.files {
            text += &format!("# config file: {}\n", file.display());
        }
        for (key, value, origin) in &settings {
            let value = if value.is_empty() { "-".to_string() } else { value.clone() };
            text += &format!("{key:<width$}  {value:<24}  {origin}\n");
        }
        text
    };
    printer.data(&printer::terminal_safe(&out)).map_err(Error::io("<stdout>"))?;
    Ok(ExitStatus::Success.into())
}

/// Writes the completion script of `shell` for the whole command line.
pub fn completions(shell: ShellArg, out: &mut Vec<u8>) {
    use clap::CommandFactory;
    use clap_complete::Shell;
    let shell = match shell {
        ShellArg::Bash => Shell::Bash,
        ShellArg::Zsh => Shell::Zsh,
        ShellArg::Fish => Shell::Fish,
        ShellArg::Powershell => Shell::PowerShell,
        ShellArg::Elvish => Shell::Elvish,
    };
    clap_complete::generate(shell, &mut Cli::command(), "audiobook", out);
}

pub(crate) fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn run(cli: &Cli, printer: &Printer) -> Result<ExitCode> {
    match &cli.command {
        Command::Build(args) => build::run(args, &cli.models, printer, false),
        Command::Assemble(args) => build::run(args, &cli.models, printer, true),
        Command::Status(args) => status::run(args, &cli.models, printer),
        Command::Plan(args) => plan::run(args, &cli.models, printer),
        Command::Say(args) => say::run(cli, args, printer),
        Command::Voices => models::list_voices(printer),
        Command::Lexicon(LexiconCommand::Scan(args)) => lexicon::scan(args, &cli.models, printer),
        Command::Config(args) => show_config(&args.command, printer),
        Command::Serve(args) => serve::run(args, &cli.models, printer),
        Command::Completions(args) => {
            let mut out = Vec::new();
            completions(args.shell, &mut out);
            printer.data(&String::from_utf8_lossy(&out)).map_err(Error::io("<stdout>"))?;
            Ok(ExitStatus::Success.into())
        }
        Command::Models(ModelsCommand::Fetch(args)) => {
            models::fetch(args, &settings::asset_overrides(&cli.models), printer)
        }
        Command::Models(ModelsCommand::Status) => {
            let overrides = settings::asset_overrides(&cli.models);
            models::status(&assets::locate(&overrides)?, &overrides, printer)
        }
        Command::Doctor => doctor::run(&cli.models, printer),
    }
}

#[cfg(test)]
mod tests {
    use clap::ValueEnum;

    use super::*;

    #[test]
    fn completions_generate_for_every_shell_and_know_the_new_commands() {
        for shell in ShellArg::value_variants() {
            let mut out = Vec::new();
            completions(*shell, &mut out);
            let script = String::from_utf8(out).unwrap();
            for word in ["audiobook", "lexicon", "scan", "completions", "voice", "no-progress", "phonemes"] {
                assert!(script.contains(word), "{shell:?} completions lack {word}");
            }
        }
    }
}
