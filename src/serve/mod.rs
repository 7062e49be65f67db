//! `audiobook serve`: the engine over HTTP. One [`State`] holds the engine (the same session pool,
//! G2P, chunker and timeline as `build` and `say`), a gate of `jobs + queue` places in front of
//! the pool, and the statistics. Routes are in `routes`, per-request speech in `speech`, the
//! mapping of errors to statuses in `error`, the page at `/` in `page.html`.

mod error;
mod routes;
mod speech;
mod stats;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::kokoro::Engine;
use crate::kokoro::assets::{self, AssetOverrides, FetchProgress, ModelFiles};
use crate::language::Language;
use crate::narrate::{self, Settings};
use crate::phonemize::{Phonemizer, japanese};

pub use self::stats::Stats;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    pub addr: SocketAddr,
    /// Requests speaking at once (one model session each).
    pub jobs: usize,
    /// Requests waiting for a session beyond those; more get 503.
    pub queue: usize,
    /// The longest text one request may give, in characters.
    pub max_chars: usize,
    /// The longest one request may take to speak.
    pub timeout: Duration,
    /// Keys a client must give (`Authorization: Bearer KEY` or `X-API-Key`); none: no check.
    pub api_keys: Vec<String>,
    /// Origins browsers may call from (CORS); `*` for any.
    pub cors_origins: Vec<String>,
    /// Defaults of a request (voice, speed) and how speech is made (pauses, chunks, sessions).
    pub settings: Settings,
    /// The model flags, for fetching the Japanese dictionary on the first request for a j voice
    /// when it is missing (as `say` and `build` do; not with `offline`).
    pub assets: AssetOverrides,
}

/// What every request shares.
pub struct State {
    config: ServeConfig,
    engine: OnceLock<Engine>,
    ready: AtomicBool,
    /// Places for requests: `jobs` speaking plus `queue` waiting.
    gate: Arc<Semaphore>,
    stats: Stats,
    /// One phonemizer per dialect (American, British), built on first use.
    phonemizers: Mutex<HashMap<char, Arc<Phonemizer>>>,
}

impl State {
    fn new(config: ServeConfig) -> Self {
        let places = config.jobs + config.queue;
        Self {
            gate: Arc::new(Semaphore::new(places)),
            engine: OnceLock::new(),
            ready: AtomicBool::new(false),
            stats: Stats::default(),
            phonemizers: Mutex::new(HashMap::new()),
            config,
        }
    }

    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn engine(&self) -> Option<&Engine> {
        self.engine.get()
    }

    /// The phonemizer for the settings' voice (its dialect is the voice's first letter).
    fn phonemizer(&self, settings: &Settings) -> Result<Arc<Phonemizer>> {
        let dialect = settings.voice.chars().next().unwrap_or('a');
        if let Some(g2p) = self.phonemizers.lock().unwrap_or_else(|e| e.into_inner()).get(&dialect) {
            return Ok(Arc::clone(g2p));
        }
        // Built outside the lock: it takes a second, and another dialect need not wait.
        let ready = settings.japanese_dictionary.as_deref().is_some_and(japanese::dictionary_ready);
        let g2p = if !ready
            && narrate::text_language("", settings)? == Language::Japanese
            && japanese::PROGRAM.find().is_some()
        {
            let japanese_dictionary = Some(assets::ensure_japanese_dictionary(&self.config.assets, &Logged)?);
            Arc::new(narrate::phonemizer(&Settings { japanese_dictionary, ..settings.clone() })?)
        } else {
            Arc::new(narrate::phonemizer(settings)?)
        };
        self.phonemizers.lock().unwrap_or_else(|e| e.into_inner()).entry(dialect).or_insert_with(|| Arc::clone(&g2p));
        Ok(g2p)
    }

    /// Seconds a rejected client should wait: the typical request's time, at least one.
    fn retry_after_s(&self) -> u64 {
        speech::retry_after(self.stats.typical())
    }
}

/// Fetching the Japanese dictionary, said on stderr like the address the server listens on.
struct Logged;

impl FetchProgress for Logged {
    fn step(&self, message: &str) {
        eprintln!("audiobook: {message}");
    }

    fn show_tool_output(&self) -> bool {
        false
    }
}

/// Binds, loads the model in the background (`/readyz` says when it is ready) and serves until
/// SIGTERM or Ctrl-C, then lets the requests in flight finish.
pub fn run(config: ServeConfig, files: ModelFiles, on_listening: impl FnOnce(SocketAddr)) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::io("the async runtime")(e))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.addr).await.map_err(Error::io(config.addr.to_string()))?;
        let addr = listener.local_addr().map_err(Error::io(config.addr.to_string()))?;
        let state = Arc::new(State::new(config));
        let loading = Arc::clone(&state);
        let load = tokio::task::spawn_blocking(move || -> Result<()> {
            let settings = &loading.config.settings;
            let engine =
                narrate::start_engine(&files, &Settings { sessions: loading.config.jobs, ..settings.clone() })?;
            engine.pool().start()?;
            // Warm the default voice's phonemizer too, so the first request does not pay for it.
            loading.phonemizer(settings)?;
            let _ = loading.engine.set(engine);
            loading.ready.store(true, Ordering::SeqCst);
            Ok(())
        });
        on_listening(addr);
        let app = routes::router(Arc::clone(&state));
        let server = axum::serve(listener, app).with_graceful_shutdown(shutdown_signal());
        let served = tokio::spawn(async move { server.await });
        // A model that cannot load ends the server with its error rather than leave it unready.
        match load.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(e),
            Err(_) => return Err(Error::Panicked { what: "loading the model" }),
        }
        match served.await {
            Ok(result) => result.map_err(Error::io(addr.to_string())),
            Err(_) => Err(Error::Panicked { what: "the server" }),
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
