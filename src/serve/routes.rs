//! The routes. `/tts` is ours (whole WAV, or chunks streamed as NDJSON, SSE or multipart, each
//! with its exact times); `/v1/...` is OpenAI's speech API, so its clients work unchanged; the
//! rest tells what the server has and how it is doing.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, Request as HttpRequest, State as Shared};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

use super::State;
use super::error::ApiError;
use super::speech::{self, Part, Request};
use crate::assemble::wav;
use crate::kokoro::{SAMPLE_RATE, voices};

const BASE64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const BOUNDARY: &str = "audiobook-chunk";

pub fn router(state: Arc<State>) -> Router {
    let cors = cors(&state.config.cors_origins);
    Router::new()
        .route("/", get(page))
        .route("/tts", post(tts))
        .route("/v1/audio/speech", post(openai_speech))
        .route("/v1/audio/voices", get(openai_voices))
        .route("/v1/models", get(openai_models))
        .route("/voices", get(list_voices))
        .route("/health", get(health))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/stats", get(stats))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), authorize))
        .layer(cors)
        // A request body is a JSON object with a text: a few MB at most.
        .layer(axum::extract::DefaultBodyLimit::max(8 << 20))
        .with_state(state)
}

fn cors(origins: &[String]) -> CorsLayer {
    let layer = CorsLayer::new().allow_methods(Any).allow_headers(Any);
    if origins.iter().any(|o| o == "*") {
        layer.allow_origin(Any)
    } else {
        let list: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()).collect();
        layer.allow_origin(AllowOrigin::list(list))
    }
}

/// With API keys set, every route but the probes and the page wants one, compared in constant
/// time.
async fn authorize(Shared(state): Shared<Arc<State>>, request: HttpRequest, next: Next) -> Response {
    let open = matches!(request.uri().path(), "/" | "/health" | "/livez" | "/readyz");
    if state.config.api_keys.is_empty() || open || request.method() == axum::http::Method::OPTIONS {
        return next.run(request).await;
    }
    let headers = request.headers();
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
        .unwrap_or("");
    // Every key is compared, so the time does not tell which one nearly matched.
    let matched =
        state.config.api_keys.iter().fold(0u8, |any, key| any | key.as_bytes().ct_eq(given.as_bytes()).unwrap_u8());
    if matched == 1 {
        return next.run(request).await;
    }
    let error = ApiError::status(
        StatusCode::UNAUTHORIZED,
        "a valid API key is needed: Authorization: Bearer KEY or X-API-Key: KEY",
    );
    if request.uri().path().starts_with("/v1/") { error.openai().into_response() } else { error.into_response() }
}

async fn page() -> Html<&'static str> {
    Html(include_str!("page.html"))
}

#[derive(Deserialize)]
struct TtsBody {
    text: Option<String>,
    voice: Option<String>,
    speed: Option<f32>,
    format: Option<String>,
}

#[derive(Deserialize, Default)]
struct TtsQuery {
    stream: Option<bool>,
    /// ndjson (default), sse or multipart; the Accept header picks too.
    mode: Option<String>,
}

/// A JSON body, or a 400 naming what is wrong with it.
fn body<T: serde::de::DeserializeOwned>(bytes: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad("body", format!("the body is not the JSON this route takes: {e}")))
}

async fn tts(
    Shared(state): Shared<Arc<State>>,
    Query(query): Query<TtsQuery>,
    headers: HeaderMap,
    bytes: Bytes,
) -> Result<Response, ApiError> {
    let request: TtsBody = body(&bytes)?;
    let text = request.text.ok_or_else(|| ApiError::bad("text", "text is missing"))?;
    let format = request.format.unwrap_or_else(|| "wav".into());
    if !matches!(format.as_str(), "wav" | "pcm") {
        return Err(ApiError::bad("format", format!("format '{format}' is not one of wav, pcm")));
    }
    let checked = Request::check(&state, text, request.voice, request.speed, "text")?;
    let parts = speech::start(&state, checked)?;
    if !query.stream.unwrap_or(false) {
        let (samples, _, _) = speech::collect(parts).await?;
        return Ok(whole(&samples, &format));
    }
    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mode = query.mode.unwrap_or_else(|| {
        if accept.contains("text/event-stream") {
            "sse".into()
        } else if accept.contains("multipart") {
            "multipart".into()
        } else {
            "ndjson".into()
        }
    });
    let (content_type, encode): (String, fn(Part) -> Bytes) = match mode.as_str() {
        "ndjson" => ("application/x-ndjson".into(), ndjson_part),
        "sse" => ("text/event-stream".into(), sse_part),
        "multipart" => (format!("multipart/mixed; boundary={BOUNDARY}"), multipart_part),
        other => return Err(ApiError::bad("mode", format!("mode '{other}' is not one of ndjson, sse, multipart"))),
    };
    Ok(streamed(parts, &content_type, encode, None))
}

/// A whole speech as a WAV file or raw 16-bit PCM.
fn whole(samples: &[f32], format: &str) -> Response {
    let (content_type, bytes) = match format {
        "pcm" => ("audio/L16; rate=24000; channels=1", wav::pcm16_bytes(samples)),
        _ => ("audio/wav", wav::to_bytes(samples).unwrap_or_default()),
    };
    ([(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

/// A response whose body is the parts as they come, each encoded by `encode`, after `first`.
fn streamed(
    parts: tokio::sync::mpsc::Receiver<Part>,
    content_type: &str,
    encode: fn(Part) -> Bytes,
    first: Option<Bytes>,
) -> Response {
    let head = tokio_stream::iter(first.map(Ok::<Bytes, Infallible>));
    let rest = ReceiverStream::new(parts).map(move |part| Ok::<Bytes, Infallible>(encode(part)));
    let mut response = Response::new(Body::from_stream(head.chain(rest)));
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// A part's metadata and audio (the pause before it, then its speech) as one JSON object.
fn part_json(part: Part) -> Value {
    match part {
        Part::Chunk(chunk) => {
            let mut audio = vec![0.0; chunk.silence];
            audio.extend_from_slice(&chunk.samples);
            let mut value = serde_json::to_value(&chunk).unwrap_or(Value::Null);
            value["silence_samples"] = json!(chunk.silence);
            value["sample_rate"] = json!(SAMPLE_RATE);
            value["audio"] = json!(BASE64.encode(wav::pcm16_bytes(&audio)));
            value
        }
        Part::End { tail, duration_ms } => {
            json!({ "done": true, "duration_ms": duration_ms, "audio": BASE64.encode(wav::pcm16_bytes(&vec![0.0; tail])) })
        }
        Part::Failed(error) => {
            json!({ "error": { "message": error.message, "field": error.field, "status": error.status.as_u16() } })
        }
    }
}

fn ndjson_part(part: Part) -> Bytes {
    let mut line = part_json(part).to_string();
    line.push('\n');
    Bytes::from(line)
}

fn sse_part(part: Part) -> Bytes {
    let event = match &part {
        Part::Chunk(_) => "chunk",
        Part::End { .. } => "done",
        Part::Failed(_) => "error",
    };
    Bytes::from(format!("event: {event}\ndata: {}\n\n", part_json(part)))
}

/// Each chunk as two parts, its metadata (JSON) then its audio (16-bit PCM, pause included);
/// the closing part is JSON alone.
fn multipart_part(part: Part) -> Bytes {
    let mut out = Vec::new();
    let (meta, audio) = match part {
        Part::Chunk(chunk) => {
            let mut samples = vec![0.0; chunk.silence];
            samples.extend_from_slice(&chunk.samples);
            let mut meta = serde_json::to_value(&chunk).unwrap_or(Value::Null);
            meta["silence_samples"] = json!(chunk.silence);
            (meta, Some(wav::pcm16_bytes(&samples)))
        }
        Part::End { tail, duration_ms } => {
            (json!({ "done": true, "duration_ms": duration_ms, "tail_samples": tail }), None)
        }
        failed => (part_json(failed), None),
    };
    out.extend_from_slice(format!("--{BOUNDARY}\r\nContent-Type: application/json\r\n\r\n{meta}\r\n").as_bytes());
    if let Some(audio) = audio {
        out.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Type: audio/L16; rate={SAMPLE_RATE}; channels=1\r\n\r\n").as_bytes(),
        );
        out.extend_from_slice(&audio);
        out.extend_from_slice(b"\r\n");
    }
    if meta.get("done").is_some() || meta.get("error").is_some() {
        out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    }
    Bytes::from(out)
}

#[derive(Deserialize)]
struct SpeechBody {
    model: Option<String>,
    input: Option<String>,
    voice: Option<String>,
    response_format: Option<String>,
    speed: Option<f32>,
    stream_format: Option<String>,
}

async fn openai_speech(Shared(state): Shared<Arc<State>>, bytes: Bytes) -> Result<Response, ApiError> {
    let openai = ApiError::openai;
    let request: SpeechBody = body(&bytes).map_err(openai)?;
    let _ = request.model;
    let input = request.input.ok_or_else(|| ApiError::bad("input", "input is missing").openai())?;
    // OpenAI's default is mp3.
    let format = request.response_format.unwrap_or_else(|| "mp3".into());
    let encoded = encoded_format(&format);
    if !matches!(format.as_str(), "wav" | "pcm") && encoded.is_none() {
        let message = format!("response_format '{format}' is not one of wav, pcm, mp3, opus, flac, aac");
        return Err(ApiError::bad("response_format", message).openai());
    }
    let ffmpeg = crate::export::find_ffmpeg();
    if encoded.is_some() && ffmpeg.is_none() {
        let message = format!("response_format '{format}' needs ffmpeg on the server; wav and pcm need nothing");
        return Err(ApiError::bad("response_format", message).openai());
    }
    let sse = request.stream_format.as_deref() == Some("sse");
    if sse && encoded.is_some() {
        let message = format!("stream_format sse sends 16-bit PCM deltas: ask for response_format pcm, not {format}");
        return Err(ApiError::bad("stream_format", message).openai());
    }
    let checked = Request::check(&state, input, request.voice, request.speed, "input").map_err(openai)?;
    let parts = speech::start(&state, checked).map_err(openai)?;
    if let (Some((content_type, args)), Some(ffmpeg)) = (encoded, ffmpeg) {
        // Compressed formats are encoded whole, in memory, off the async runtime.
        let (samples, _, _) = speech::collect(parts).await.map_err(openai)?;
        let what = format!("the {format} answer");
        let failed = |message: &str| ApiError::status(StatusCode::INTERNAL_SERVER_ERROR, message).openai();
        let bytes =
            tokio::task::spawn_blocking(move || crate::export::encode_in_memory(&ffmpeg, &samples, args, &what))
                .await
                .map_err(|_| failed("the encoder stopped"))?
                .map_err(|_| failed("ffmpeg could not encode the audio"))?;
        return Ok(([(header::CONTENT_TYPE, content_type)], bytes).into_response());
    }
    match request.stream_format.as_deref().unwrap_or("audio") {
        "sse" => Ok(streamed(parts, "text/event-stream", openai_sse_part, None)),
        "audio" if format == "wav" => {
            // A stream cannot know its length: the header says "unknown", as players expect.
            Ok(streamed(parts, "audio/wav", audio_part, Some(Bytes::from(wav::streaming_header().to_vec()))))
        }
        "audio" => Ok(streamed(parts, "audio/pcm", audio_part, None)),
        other => {
            Err(ApiError::bad("stream_format", format!("stream_format '{other}' is not one of audio, sse")).openai())
        }
    }
}

/// The content type and ffmpeg's codec and muxer for a compressed `response_format`.
fn encoded_format(format: &str) -> Option<(&'static str, &'static [&'static str])> {
    Some(match format {
        "mp3" => ("audio/mpeg", &["-c:a", "libmp3lame", "-b:a", "128k", "-f", "mp3"]),
        "opus" => ("audio/ogg", &["-c:a", "libopus", "-b:a", "48k", "-f", "ogg"]),
        "flac" => ("audio/flac", &["-c:a", "flac", "-f", "flac"]),
        "aac" => ("audio/aac", &["-c:a", "aac", "-b:a", "128k", "-f", "adts"]),
        _ => return None,
    })
}

/// Audio only: the pause and speech of a chunk, or the closing silence, as 16-bit PCM.
fn audio_part(part: Part) -> Bytes {
    match part {
        Part::Chunk(chunk) => {
            let mut samples = vec![0.0; chunk.silence];
            samples.extend_from_slice(&chunk.samples);
            Bytes::from(wav::pcm16_bytes(&samples))
        }
        Part::End { tail, .. } => Bytes::from(wav::pcm16_bytes(&vec![0.0; tail])),
        // Mid-stream, the status is sent already: the stream ends short.
        Part::Failed(_) => Bytes::new(),
    }
}

fn openai_sse_part(part: Part) -> Bytes {
    let event = match part {
        Part::Chunk(chunk) => {
            let mut samples = vec![0.0; chunk.silence];
            samples.extend_from_slice(&chunk.samples);
            json!({ "type": "speech.audio.delta", "audio": BASE64.encode(wav::pcm16_bytes(&samples)) })
        }
        Part::End { duration_ms, .. } => json!({ "type": "speech.audio.done", "duration_ms": duration_ms }),
        Part::Failed(error) => json!({ "type": "error", "error": { "message": error.message } }),
    };
    Bytes::from(format!("data: {event}\n\n"))
}

fn voice_list() -> Vec<Value> {
    voices::catalogue()
        .into_iter()
        .map(|v| json!({ "id": v.name, "name": v.name, "language": v.language, "gender": v.gender, "speakable": v.supported }))
        .collect()
}

async fn list_voices() -> Json<Value> {
    Json(json!({ "voices": voice_list() }))
}

async fn openai_voices() -> Json<Value> {
    Json(json!({ "voices": voice_list() }))
}

async fn openai_models() -> Json<Value> {
    let model = |id: &str| json!({ "id": id, "object": "model", "created": 0, "owned_by": "audiobook" });
    Json(
        json!({ "object": "list", "data": [model("kokoro"), model("tts-1"), model("tts-1-hd"), model("gpt-4o-mini-tts")] }),
    )
}

async fn health(Shared(state): Shared<Arc<State>>) -> Json<Value> {
    Json(json!({ "status": "ok", "ready": state.is_ready(), "version": env!("CARGO_PKG_VERSION") }))
}

async fn readyz(Shared(state): Shared<Arc<State>>) -> Response {
    if state.is_ready() {
        "ready".into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "loading").into_response()
    }
}

async fn stats(Shared(state): Shared<Arc<State>>) -> Json<Value> {
    let pool = state.engine().map(|e| serde_json::to_value(e.pool().stats()).unwrap_or(Value::Null));
    let places = state.config.jobs + state.config.queue;
    Json(json!({
        "requests": state.stats.snapshot(),
        "pool": pool,
        "jobs": state.config.jobs,
        "queue": state.config.queue,
        "in_flight": places - state.gate.available_permits(),
    }))
}
