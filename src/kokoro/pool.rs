//! A pool of Kokoro sessions shared by every caller: a build's workers, `say`, a server's
//! requests.
//!
//! The sessions are built on [`SessionPool::start`] (or the first checkout), all side by side, so
//! a build that finds everything already rendered never pays for them; the model bytes are freed
//! once they are built.
//! A session runs one call at a time (`run` takes `&mut`), so callers check one out, use it and
//! hand it back. The [`Checkout`] guard hands it back on drop, panics included, so a failing
//! caller never shrinks the pool. [`SessionPool::checkout`] waits at most as long as asked, which
//! lets a server answer "busy" instead of queueing without bound. The pool counts what it did, so
//! a build's summary and a server's health endpoint report the same figures.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::runtime::Runtime;
use super::session::{EngineError, Kokoro, Rendered, SAMPLE_RATE, SessionConfig};

/// Sessions of one model, built side by side, lent out one caller at a time.
pub struct SessionPool {
    /// What the sessions are built from, until they are.
    unstarted: Mutex<Option<Runtime>>,
    started: AtomicBool,
    config: SessionConfig,
    idle: Mutex<Vec<Kokoro>>,
    returned: Condvar,
    size: usize,
    waiting: AtomicUsize,
    chunks: AtomicU64,
    errors: AtomicU64,
    audio_samples: AtomicU64,
    busy_us: AtomicU64,
    load_ms: AtomicU64,
}

/// What a pool has done so far, and what it is doing now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PoolStats {
    /// Sessions in the pool (built on first use).
    pub sessions: usize,
    /// Sessions lent out now.
    pub busy: usize,
    /// Callers waiting for a session now.
    pub waiting: usize,
    /// Model calls that succeeded.
    pub chunks: u64,
    /// Model calls that failed.
    pub errors: u64,
    /// Audio those calls produced, in ms.
    pub audio_ms: u64,
    /// Time sessions spent in model calls, summed over sessions, in ms.
    pub busy_ms: u64,
    /// Audio seconds one session makes per second of its work: how many times faster than real
    /// time a single session speaks (0 before the first call).
    pub x_real_time: f64,
    /// The longest time one session took to build, in ms (0 until they are built).
    pub load_ms: u64,
}

impl SessionPool {
    /// A pool of `count` sessions (at least one) of `config`, to be built from `runtime`.
    pub(super) fn new(runtime: Runtime, config: SessionConfig, count: usize) -> Self {
        Self {
            unstarted: Mutex::new(Some(runtime)),
            started: AtomicBool::new(false),
            config,
            idle: Mutex::new(Vec::new()),
            returned: Condvar::new(),
            size: count.max(1),
            waiting: AtomicUsize::new(0),
            chunks: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            audio_samples: AtomicU64::new(0),
            busy_us: AtomicU64::new(0),
            load_ms: AtomicU64::new(0),
        }
    }

    /// Builds the sessions side by side, once; later calls return at once. Callers that arrive
    /// while they are being built wait for them. A failed start can be tried again.
    pub fn start(&self) -> Result<(), EngineError> {
        if self.started.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut unstarted = self.unstarted.lock().unwrap_or_else(|e| e.into_inner());
        let Some(runtime) = unstarted.as_ref() else { return Ok(()) };
        let (sessions, load_ms) = build_sessions(runtime, self.config, self.size)?;
        self.lock().extend(sessions);
        self.load_ms.store(load_ms, Ordering::SeqCst);
        // The sessions hold their own copies of the model now.
        *unstarted = None;
        self.started.store(true, Ordering::SeqCst);
        self.returned.notify_all();
        Ok(())
    }

    /// Sessions in the pool.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Lends a session, waiting for one to come back if all are busy: without limit when `wait`
    /// is `None`, otherwise at most `wait`, then [`EngineError::Busy`].
    pub fn checkout(&self, wait: Option<Duration>) -> Result<Checkout<'_>, EngineError> {
        self.start()?;
        let deadline = wait.map(|w| Instant::now() + w);
        let mut idle = self.lock();
        self.waiting.fetch_add(1, Ordering::SeqCst);
        let session = loop {
            if let Some(session) = idle.pop() {
                break Some(session);
            }
            match deadline {
                None => idle = self.returned.wait(idle).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break None;
                    }
                    idle = self.returned.wait_timeout(idle, left).unwrap_or_else(|e| e.into_inner()).0;
                }
            }
        };
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        match session {
            Some(session) => Ok(Checkout { pool: self, session: Some(session) }),
            None => Err(EngineError::Busy { sessions: self.size, waited_ms: wait.unwrap_or_default().as_millis() }),
        }
    }

    /// The pool's figures now.
    pub fn stats(&self) -> PoolStats {
        let idle = if self.started.load(Ordering::SeqCst) { self.lock().len() } else { self.size };
        let audio_ms = self.audio_samples.load(Ordering::SeqCst) * 1000 / u64::from(SAMPLE_RATE);
        let busy_us = self.busy_us.load(Ordering::SeqCst);
        PoolStats {
            sessions: self.size,
            busy: self.size - idle,
            waiting: self.waiting.load(Ordering::SeqCst),
            chunks: self.chunks.load(Ordering::SeqCst),
            errors: self.errors.load(Ordering::SeqCst),
            audio_ms,
            busy_ms: busy_us / 1000,
            x_real_time: if busy_us == 0 { 0.0 } else { audio_ms as f64 * 1000.0 / busy_us as f64 },
            load_ms: self.load_ms.load(Ordering::SeqCst),
        }
    }

    /// The idle sessions. A panic elsewhere cannot leave the list half-changed (push and pop are
    /// whole), so a poisoned lock is still good to use.
    fn lock(&self) -> MutexGuard<'_, Vec<Kokoro>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Builds `count` sessions side by side; returns them and the longest build time in ms.
fn build_sessions(runtime: &Runtime, config: SessionConfig, count: usize) -> Result<(Vec<Kokoro>, u64), EngineError> {
    let built: Vec<Result<(Kokoro, u64), EngineError>> = std::thread::scope(|scope| {
        let loading: Vec<_> = (0..count)
            .map(|_| {
                scope.spawn(|| {
                    let started = Instant::now();
                    let session = Kokoro::load(&runtime.env, &runtime.model, config)?;
                    Ok((session, started.elapsed().as_millis() as u64))
                })
            })
            .collect();
        loading
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(EngineError::Load("a session thread panicked".into()))))
            .collect()
    });
    let mut sessions = Vec::with_capacity(count);
    let mut longest = 0;
    for result in built {
        let (session, ms) = result?;
        sessions.push(session);
        longest = longest.max(ms);
    }
    Ok((sessions, longest))
}

/// A session lent by the pool; it goes back when this is dropped.
pub struct Checkout<'a> {
    pool: &'a SessionPool,
    session: Option<Kokoro>,
}

impl Checkout<'_> {
    /// Speaks `ids` with the lent session (see `Kokoro::infer`) and counts the call.
    pub fn infer(&mut self, ids: &[i64], style: &[f32], speed: f32) -> Result<Rendered, EngineError> {
        let session = self.session.as_mut().ok_or(EngineError::Output("the session was already returned".into()))?;
        let started = Instant::now();
        let result = session.infer(ids, style, speed);
        let pool = self.pool;
        pool.busy_us.fetch_add(started.elapsed().as_micros() as u64, Ordering::SeqCst);
        match &result {
            Ok(rendered) => {
                pool.chunks.fetch_add(1, Ordering::SeqCst);
                pool.audio_samples.fetch_add(rendered.samples.len() as u64, Ordering::SeqCst);
            }
            Err(_) => {
                pool.errors.fetch_add(1, Ordering::SeqCst);
            }
        }
        result
    }
}

impl Drop for Checkout<'_> {
    fn drop(&mut self) {
        if let Some(session) = self.session.take() {
            self.pool.lock().push(session);
            self.pool.returned.notify_one();
        }
    }
}

/// A pool can be waited on from many threads; this fails to compile if a field stops being so.
#[allow(dead_code)]
fn assert_shareable() {
    fn shareable<T: Send + Sync>() {}
    shareable::<SessionPool>();
}
