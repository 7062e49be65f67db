//! One request's speech, off the async runtime: a blocking task drives a [`Speaker`] on the
//! shared pool and hands each chunk to the response over a small channel. The request's slot in
//! the queue is held by that task, so it is freed when the last chunk is sent, or as soon as the
//! client goes away (the send fails and the remaining chunks are never rendered).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::State;
use super::error::ApiError;
use crate::error::Error;
use crate::narrate::{self, Settings};
use crate::say::SpokenChunk;

/// What the speaking task sends.
pub enum Part {
    Chunk(SpokenChunk),
    /// The speech is complete: the silence that ends it, and its whole length.
    End {
        tail: usize,
        duration_ms: u64,
    },
    /// Speaking failed part-way (the parts already sent stand).
    Failed(ApiError),
}

/// A checked request.
pub struct Request {
    pub text: String,
    pub voice: String,
    pub speed: f32,
}

/// The fastest and slowest speeds the model is asked for (OpenAI's range).
pub const SPEEDS: std::ops::RangeInclusive<f32> = 0.25..=4.0;

impl Request {
    /// Checks the fields a request gives; `field` names them in errors as the route calls them.
    pub fn check(
        state: &State,
        text: String,
        voice: Option<String>,
        speed: Option<f32>,
        text_field: &'static str,
    ) -> Result<Self, ApiError> {
        if text.chars().count() > state.config.max_chars {
            let message =
                format!("{text_field} is longer than this server's limit of {} characters", state.config.max_chars);
            return Err(ApiError {
                field: Some(text_field),
                ..ApiError::status(axum::http::StatusCode::PAYLOAD_TOO_LARGE, message)
            });
        }
        narrate::check_text(&text, text_field).map_err(|e| ApiError::from_error(e, text_field))?;
        let voice = resolve_voice(voice.unwrap_or_else(|| state.config.settings.voice.clone()));
        crate::kokoro::voices::check(&voice).map_err(|e| ApiError::from_error(Error::from(e), "voice"))?;
        let speed = speed.unwrap_or(state.config.settings.speed);
        if !speed.is_finite() || !SPEEDS.contains(&speed) {
            return Err(ApiError::bad("speed", format!("speed {speed} is outside 0.25 to 4.0")));
        }
        Ok(Self { text, voice, speed })
    }
}

/// OpenAI's voice names ("alloy", "echo", ...) are Kokoro voices' second halves (af_alloy,
/// am_echo): a bare name takes the first voice that ends with it.
fn resolve_voice(voice: String) -> String {
    if voice.contains('_') || voice.contains(',') {
        return voice;
    }
    let lower = voice.to_ascii_lowercase();
    crate::kokoro::voices::catalogue()
        .into_iter()
        .find(|v| v.supported && v.name.split_once('_').is_some_and(|(_, rest)| rest == lower))
        .map_or(voice, |v| v.name.to_string())
}

/// Takes a place in the queue (or says the server is full) and starts speaking `request`; the
/// parts arrive on the returned channel in order.
pub fn start(state: &Arc<State>, request: Request) -> Result<mpsc::Receiver<Part>, ApiError> {
    if !state.is_ready() {
        return Err(ApiError {
            retry_after: Some(2),
            ..ApiError::status(axum::http::StatusCode::SERVICE_UNAVAILABLE, "the model is still loading")
        });
    }
    let Ok(permit) = Arc::clone(&state.gate).try_acquire_owned() else {
        state.stats.rejected();
        return Err(ApiError::busy(state.retry_after_s()));
    };
    let (sender, receiver) = mpsc::channel(2);
    let state = Arc::clone(state);
    tokio::task::spawn_blocking(move || speak(&state, request, &sender, permit));
    Ok(receiver)
}

fn speak(state: &State, request: Request, sender: &mpsc::Sender<Part>, _permit: OwnedSemaphorePermit) {
    let started = Instant::now();
    let deadline = started + state.config.timeout;
    let outcome = (|| -> Result<Option<(usize, u64)>, ApiError> {
        let settings = Settings { voice: request.voice.clone(), speed: request.speed, ..state.config.settings.clone() };
        let engine = state
            .engine()
            .ok_or_else(|| ApiError::status(axum::http::StatusCode::SERVICE_UNAVAILABLE, "the model is not loaded"))?;
        let g2p = state.phonemizer(&settings).map_err(|e| ApiError::from_error(e, "voice"))?;
        let voice = engine.voice(&request.voice).map_err(|e| ApiError::from_error(e.into(), "voice"))?;
        let mut speaker = narrate::speaker(&request.text, engine, &voice, &g2p, &settings)
            .map_err(|e| ApiError::from_error(e, "text"))?;
        while let Some(chunk) = speaker.next_chunk() {
            let chunk = chunk.map_err(|e| ApiError::from_error(e, "text"))?;
            if Instant::now() > deadline {
                return Err(ApiError::status(
                    axum::http::StatusCode::GATEWAY_TIMEOUT,
                    format!("speaking took longer than the server's limit of {} s", state.config.timeout.as_secs()),
                ));
            }
            if sender.blocking_send(Part::Chunk(chunk)).is_err() {
                // The client went away: stop here, and give the slot back.
                return Ok(None);
            }
        }
        let (tail, timing) = speaker.finish();
        Ok(Some((tail, timing.duration_ms)))
    })();
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(Some((tail, duration_ms))) => {
            state.stats.served(seconds, duration_ms);
            let _ = sender.blocking_send(Part::End { tail, duration_ms });
        }
        Ok(None) => state.stats.cancelled(),
        Err(error) => {
            state.stats.failed();
            let _ = sender.blocking_send(Part::Failed(error));
        }
    }
}

/// Waits for every part of a speech: its samples (pauses included) and chunks, or the error.
pub async fn collect(mut parts: mpsc::Receiver<Part>) -> Result<(Vec<f32>, Vec<SpokenChunk>, u64), ApiError> {
    let mut samples = Vec::new();
    let mut chunks = Vec::new();
    while let Some(part) = parts.recv().await {
        match part {
            Part::Chunk(mut chunk) => {
                samples.resize(samples.len() + chunk.silence, 0.0);
                samples.append(&mut chunk.samples);
                chunks.push(chunk);
            }
            Part::End { tail, duration_ms } => {
                samples.resize(samples.len() + tail, 0.0);
                return Ok((samples, chunks, duration_ms));
            }
            Part::Failed(error) => return Err(error),
        }
    }
    Err(ApiError::status(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "speaking stopped without a reason"))
}

/// How long a client should wait before retrying a full server: about one request's time.
pub fn retry_after(typical: Duration) -> u64 {
    typical.as_secs().clamp(1, 60)
}
