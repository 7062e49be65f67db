//! The config file: `audiobook.toml` beside the first input, then the one in the user's config
//! folder, with the flags' long names as keys (`voice = "af_heart"`, `pause-paragraph = 800`,
//! `format = ["wav", "m4b"]`). Precedence: flags > environment > files > defaults.
//!
//! The command line is parsed once to learn the subcommand, its input and which options the user
//! or the environment already set; every other option a file sets is added to the arguments as
//! if typed, and they are parsed again. So a file takes exactly the values, checks and messages
//! of the flags, and [`Resolved::settings`] says where each value came from.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::{ArgMatches, CommandFactory, FromArgMatches};

use super::args::Cli;
use crate::error::{Error, Result};
use crate::lexicon;

/// The config file's name, beside an input and in the user's config folder.
pub const FILE_NAME: &str = "audiobook.toml";

/// Subcommands that read config files (their options are the keys a file may set).
const READERS: [&[&str]; 5] = [&["build"], &["plan"], &["say"], &["lexicon", "scan"], &["serve"]];

/// The command line with the config files applied.
pub struct Resolved {
    pub cli: Cli,
    /// The final matches, for [`Resolved::origin`].
    matches: ArgMatches,
    /// Option id -> the file that set it.
    from_file: BTreeMap<String, PathBuf>,
    /// The files read, most important first.
    pub files: Vec<PathBuf>,
}

/// Where an effective setting came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "from", rename_all = "snake_case")]
pub enum Origin {
    Flag,
    Env { name: String },
    File { path: PathBuf },
    Default,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::Flag => f.write_str("flag"),
            Origin::Env { name } => write!(f, "env {name}"),
            Origin::File { path } => write!(f, "{}", path.display()),
            Origin::Default => f.write_str("default"),
        }
    }
}

/// The config files for a command whose first input is `first_input`, most important first:
/// `audiobook.toml` beside it (inside it, for a folder), then the user's, where they exist.
pub fn files_for(first_input: Option<&Path>) -> Vec<PathBuf> {
    let beside = first_input.filter(|p| *p != Path::new("-")).map(|input| {
        let folder = if input.is_dir() { input } else { input.parent().unwrap_or(Path::new("")) };
        folder.join(FILE_NAME)
    });
    [beside, lexicon::config_dir().map(|d| d.join(FILE_NAME))].into_iter().flatten().filter(|p| p.is_file()).collect()
}

/// Parses `argv` with the config files applied; a usage error exits as clap does.
pub fn resolve(argv: Vec<OsString>) -> Result<Resolved> {
    let command = Cli::command();
    let first = command.clone().try_get_matches_from(&argv).unwrap_or_else(|e| super::usage_error(&e));
    let Some((path, sub)) = reader(&first) else {
        let cli = Cli::from_arg_matches(&first).unwrap_or_else(|e| super::usage_error(&e));
        return Ok(Resolved { cli, matches: first, from_file: BTreeMap::new(), files: Vec::new() });
    };
    let input = sub.try_get_many::<PathBuf>("inputs").ok().flatten().and_then(|mut i| i.next().cloned());
    let files = files_for(input.as_deref());
    let mut extra: Vec<OsString> = Vec::new();
    let mut from_file = BTreeMap::new();
    let keys = known_keys(&command);
    let target = subcommand(&command, &path);
    // Later files first, so an earlier file's value is the one kept.
    let mut values: BTreeMap<String, (String, toml::Value, PathBuf)> = BTreeMap::new();
    for file in files.iter().rev() {
        for (key, value) in read(file)? {
            if !keys.contains(&key) {
                return Err(Error::Config {
                    path: file.clone(),
                    problem: format!("unknown key '{key}': keys are the long names of the flags"),
                });
            }
            values.insert(key.clone(), (key, value, file.clone()));
        }
    }
    for (key, value, file) in values.into_values() {
        let Some(arg) = target.get_arguments().find(|a| a.get_long() == Some(key.as_str())) else { continue };
        let id = arg.get_id().as_str();
        let set = matches!(sub.value_source(id), Some(ValueSource::CommandLine | ValueSource::EnvVariable));
        if set {
            continue;
        }
        let flag = !arg.get_action().takes_values();
        match (&value, flag) {
            (toml::Value::Boolean(true), true) => extra.push(format!("--{key}").into()),
            (toml::Value::Boolean(false), true) => continue,
            (_, true) => {
                return Err(Error::Config { path: file, problem: format!("'{key}' is true or false") });
            }
            (value, false) => {
                let mut text = scalar(value).ok_or_else(|| Error::Config {
                    path: file.clone(),
                    problem: format!("'{key}' must be a string, a number or a list of them"),
                })?;
                // A path in a file is relative to the file's folder, as a user would expect.
                let names_path = arg.get_value_names().is_some_and(|names| {
                    names.iter().any(|n| ["FILE", "DIR", "PATH"].iter().any(|p| n.as_str().starts_with(p)))
                });
                if names_path && Path::new(&text).is_relative() {
                    text = file.parent().unwrap_or(Path::new("")).join(&text).display().to_string();
                }
                extra.push(format!("--{key}={text}").into());
            }
        }
        from_file.insert(id.to_string(), file);
    }
    if extra.is_empty() {
        let cli = Cli::from_arg_matches(&first).unwrap_or_else(|e| super::usage_error(&e));
        return Ok(Resolved { cli, matches: first, from_file, files });
    }
    let mut argv = argv;
    let at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    argv.splice(at..at, extra);
    let matches = command.try_get_matches_from(&argv).map_err(|e| Error::Config {
        // The file that set the refused option, where clap names it.
        path: e
            .get(clap::error::ContextKind::InvalidArg)
            .map(|arg| arg.to_string())
            .and_then(|arg| from_file.iter().find(|(id, _)| arg.starts_with(&format!("--{} ", id.replace('_', "-")))))
            .map(|(_, path)| path.clone())
            .or_else(|| files.first().cloned())
            .unwrap_or_default(),
        problem: e.to_string().lines().next().unwrap_or_default().trim_start_matches("error: ").to_string(),
    })?;
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| super::usage_error(&e));
    Ok(Resolved { cli, matches, from_file, files })
}

impl Resolved {
    /// The subcommand's options, each with its value as given (or its default) and its origin.
    pub fn settings(&self) -> Vec<(String, String, Origin)> {
        let Some((path, sub)) = reader(&self.matches) else { return Vec::new() };
        let command = Cli::command();
        let target = subcommand(&command, &path);
        target
            .get_arguments()
            .filter(|a| a.get_long().is_some_and(|l| !matches!(l, "help" | "version")))
            .map(|arg| {
                let id = arg.get_id().as_str();
                let long = arg.get_long().unwrap_or(id).to_string();
                let value = sub
                    .get_raw(id)
                    .map(|v| v.map(|s| s.to_string_lossy().into_owned()).collect::<Vec<_>>().join(","))
                    .unwrap_or_default();
                let origin = match sub.value_source(id) {
                    Some(ValueSource::CommandLine) => match self.from_file.get(id) {
                        Some(path) => Origin::File { path: path.clone() },
                        None => Origin::Flag,
                    },
                    Some(ValueSource::EnvVariable) => Origin::Env {
                        name: arg.get_env().map(|e| e.to_string_lossy().into_owned()).unwrap_or_default(),
                    },
                    _ => Origin::Default,
                };
                (long, value, origin)
            })
            .collect()
    }
}

/// The subcommand that reads config files, and its matches.
fn reader(matches: &ArgMatches) -> Option<(Vec<&'static str>, &ArgMatches)> {
    let (name, sub) = matches.subcommand()?;
    let (path, sub) = match (name, sub.subcommand()) {
        ("lexicon", Some(("scan", scan))) => (vec!["lexicon", "scan"], scan),
        ("config", _) => return None,
        (name, _) => (vec![READERS.iter().find(|r| r.len() == 1 && r[0] == name)?[0]], sub),
    };
    Some((path, sub))
}

fn subcommand(command: &clap::Command, path: &[&str]) -> clap::Command {
    let mut command = command.clone();
    command.build();
    let mut target = command;
    for name in path {
        target = target.find_subcommand(name).cloned().unwrap_or_else(|| clap::Command::new("none"));
    }
    target
}

/// Every long option of the subcommands that read config files.
fn known_keys(command: &clap::Command) -> Vec<String> {
    READERS
        .iter()
        .flat_map(|path| {
            subcommand(command, path)
                .get_arguments()
                .filter_map(|a| a.get_long().map(str::to_string))
                .collect::<Vec<_>>()
        })
        .filter(|l| !matches!(l.as_str(), "help" | "version"))
        .collect()
}

fn read(file: &Path) -> Result<toml::Table> {
    let text = std::fs::read_to_string(file).map_err(Error::io(file))?;
    text.parse::<toml::Table>()
        .map_err(|e| Error::Config { path: file.to_path_buf(), problem: super::one_line(&e.to_string()) })
}

/// A value as a flag would spell it; lists comma-separated.
fn scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Array(items) => items.iter().map(scalar).collect::<Option<Vec<_>>>().map(|v| v.join(",")),
        _ => None,
    }
}
