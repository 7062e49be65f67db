//! `audiobook serve`: flags to a [`ServeConfig`], the model files fetched if need be, then the
//! server (src/serve) until SIGTERM or Ctrl-C.

use std::net::{SocketAddr, ToSocketAddrs};
use std::process::ExitCode;
use std::time::Duration;

use super::args::{ModelArgs, ServeArgs};
use super::models;
use super::printer::Printer;
use super::settings;
use crate::error::{Error, ExitStatus, Result};
use crate::kokoro::{SessionConfig, assets, voices};
use crate::narrate::{self, Settings};
use crate::serve::{self, ServeConfig};

pub fn run(args: &ServeArgs, models: &ModelArgs, printer: &Printer) -> Result<ExitCode> {
    voices::check(&args.voice.voice)?;
    let addr = address(&args.host, args.port)?;
    let jobs = usize::from(args.jobs);
    let threads = args.threads.map_or_else(|| (narrate::cores() / jobs).max(1), usize::from);
    let mut settings = Settings {
        voice: args.voice.voice.clone(),
        speed: args.voice.speed,
        language: settings::language(&args.voice)?,
        lexicon: narrate::load_lexicon(args.voice.lexicon.as_deref(), &[])?,
        session: SessionConfig { intra_threads: threads, device: models.device, ..SessionConfig::default() },
        sessions: jobs,
        ..Settings::default()
    };
    // A j voice as the default fetches the Japanese dictionary now, as the model is; a request
    // for one later fetches it then.
    let language = narrate::text_language("", &settings)?;
    settings.japanese_dictionary = models::japanese_dictionary(language, models, printer)?;
    let config = ServeConfig {
        addr,
        jobs,
        queue: usize::from(args.queue),
        max_chars: args.max_chars,
        timeout: Duration::from_secs(args.timeout.max(1)),
        api_keys: api_keys(args)?,
        cors_origins: args.cors_origins.iter().filter(|o| !o.is_empty()).cloned().collect(),
        settings,
        assets: settings::asset_overrides(models),
    };
    let files = assets::ensure(&config.assets, printer)?;
    let keys = if config.api_keys.is_empty() {
        "no API key needed".to_string()
    } else {
        format!("{} API keys", config.api_keys.len())
    };
    let (jobs, queue) = (config.jobs, config.queue);
    serve::run(config, files, |bound| {
        // Said even with --quiet: with --port 0 it is the only way to learn the port.
        eprintln!(
            "audiobook: serving on http://{bound} ({jobs} sessions, {queue} waiting at most, {keys}); Ctrl-C stops"
        );
    })?;
    Ok(ExitStatus::Success.into())
}

fn address(host: &str, port: u16) -> Result<SocketAddr> {
    let bad = |problem: String| Error::BadValue { what: format!("--host {host}"), problem };
    (host, port).to_socket_addrs().map_err(|e| bad(e.to_string()))?.next().ok_or_else(|| bad("no address".into()))
}

/// Keys from the key file (one a line, `#` comments) and AUDIOBOOK_API_KEYS (commas).
fn api_keys(args: &ServeArgs) -> Result<Vec<String>> {
    let mut keys = Vec::new();
    if let Some(path) = &args.api_key_file {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        keys.extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_string));
        if keys.is_empty() {
            let what = path.display().to_string();
            return Err(Error::BadValue { what, problem: "the API key file holds no key".into() });
        }
    }
    if let Ok(list) = std::env::var("AUDIOBOOK_API_KEYS") {
        keys.extend(list.split(',').map(str::trim).filter(|k| !k.is_empty()).map(str::to_string));
    }
    Ok(keys)
}
