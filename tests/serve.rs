//! `audiobook serve` end to end: the real binary on a loopback port with the real model. Each
//! route, the streamed parts against the whole WAV, bad requests, keys, the full queue, a client
//! that goes away, and shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, start_server};
use serde_json::{Value, json};

const SHORT: &str = "The harbour was quiet. Nell folded the map and went home.";
const LONG: &str = "The tide came in slowly over the flats, and the gulls rose and settled and rose again. \
                    Nell counted the boats at anchor, then the lamps along the quay, then the bells from the chapel. \
                    When the light went she folded the map, put it in her case, and climbed the stairs once more. \
                    Nobody in the office looked up, and the clock on the wall said a quarter past seven.";

/// One server (2 sessions, a queue of 8) for the checks that need no special setting; each
/// check is a function of its own, run in turn. (A server shared by several tests would outlive
/// the test process, holding its output open.)
#[test]
fn one_server_answers_every_route_streams_in_order_and_refuses_bad_requests() {
    let server = start_server(&["--jobs", "2", "--queue", "8", "--max-chars", "2000"], &[]);
    every_route_answers(&server);
    streamed_chunks_come_in_order_with_exact_times_and_the_same_audio_as_the_whole_wav(&server);
    the_openai_route_streams_a_wav_of_unknown_length_and_answers_errors_in_its_envelope(&server);
    bad_requests_get_a_4xx_naming_the_field(&server);
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

fn get(server: &Server, path: &str) -> (u16, Vec<u8>) {
    match agent().get(format!("{}{path}", server.url)).call() {
        Ok(mut response) => (response.status().as_u16(), response.body_mut().read_to_vec().unwrap()),
        Err(_) => (0, Vec::new()),
    }
}

fn post(server: &Server, path: &str, body: &Value, headers: &[(&str, &str)]) -> ureq::http::Response<ureq::Body> {
    let mut request = agent().post(format!("{}{path}", server.url)).header("content-type", "application/json");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.send(body.to_string()).unwrap()
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(bytes)))
}

/// The PCM data of a WAV (whatever its header says the length is).
fn wav_data(bytes: &[u8]) -> &[u8] {
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(&bytes[36..40], b"data");
    &bytes[44..]
}

fn base64(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

fn every_route_answers(server: &Server) {
    assert_eq!(get(server, "/livez").0, 200);
    let (status, health) = get(server, "/health");
    assert_eq!((status, json_of(&health)["ready"].as_bool()), (200, Some(true)));
    let voices = json_of(&get(server, "/voices").1);
    let list = voices["voices"].as_array().unwrap();
    assert_eq!(list.len(), 54);
    assert!(list.iter().any(|v| v["name"] == "af_heart" && v["speakable"] == true && v["gender"].is_string()));
    assert_eq!(json_of(&get(server, "/v1/audio/voices").1)["voices"].as_array().unwrap().len(), 54);
    assert!(json_of(&get(server, "/v1/models").1)["data"].as_array().unwrap().iter().any(|m| m["id"] == "tts-1"));
    let (status, page) = get(server, "/");
    assert!(status == 200 && String::from_utf8_lossy(&page).contains("/tts?stream=true"));
    let stats = json_of(&get(server, "/stats").1);
    assert_eq!(stats["jobs"], 2);
    assert!(stats["pool"]["sessions"].as_u64() == Some(2), "{stats}");
}

fn streamed_chunks_come_in_order_with_exact_times_and_the_same_audio_as_the_whole_wav(server: &Server) {
    let body = json!({ "text": LONG, "voice": "af_heart" });
    let mut whole = post(server, "/tts", &body, &[]);
    assert_eq!(whole.status().as_u16(), 200);
    let whole = whole.body_mut().read_to_vec().unwrap();
    let whole_pcm = wav_data(&whole).to_vec();

    let mut streamed = post(server, "/tts?stream=true", &body, &[]);
    assert_eq!(streamed.headers()["content-type"], "application/x-ndjson");
    let lines: Vec<Value> =
        BufReader::new(streamed.body_mut().as_reader()).lines().map(|l| json_of(l.unwrap().as_bytes())).collect();
    let (chunks, end) = lines.split_at(lines.len() - 1);
    assert!(chunks.len() >= 2, "a long text comes in several chunks");
    assert_eq!(end[0]["done"], true);
    let mut pcm = Vec::new();
    let mut last_end = 0;
    for (i, chunk) in chunks.iter().enumerate() {
        assert_eq!(chunk["index"].as_u64(), Some(i as u64), "chunks in order");
        let (start, stop) = (chunk["start_ms"].as_u64().unwrap(), chunk["end_ms"].as_u64().unwrap());
        assert!(last_end <= start && start < stop, "chunk {i}: {start}..{stop} after {last_end}");
        for word in chunk["words"].as_array().unwrap() {
            let (a, b) = (word["start_ms"].as_u64().unwrap(), word["end_ms"].as_u64().unwrap());
            assert!(start <= a && a <= b && b <= stop, "word {word} inside its chunk {start}..{stop}");
        }
        last_end = stop;
        pcm.extend(base64(chunk["audio"].as_str().unwrap()));
    }
    pcm.extend(base64(end[0]["audio"].as_str().unwrap()));
    let words: usize = chunks.iter().map(|c| c["words"].as_array().unwrap().len()).sum();
    assert_eq!(words, LONG.split_whitespace().count());
    assert_eq!(pcm, whole_pcm, "the streamed audio is the whole WAV's, sample for sample");
    assert_eq!(end[0]["duration_ms"].as_u64(), Some(whole_pcm.len() as u64 / 48));

    // SSE and multipart carry the same chunks.
    let mut sse = post(server, "/tts?stream=true&mode=sse", &json!({ "text": SHORT }), &[]);
    let sse = sse.body_mut().read_to_string().unwrap();
    assert!(sse.starts_with("event: chunk\ndata: {") && sse.contains("event: done"), "{}", &sse[..80]);
    let mut multipart = post(server, "/tts?stream=true&mode=multipart", &json!({ "text": SHORT }), &[]);
    let kind = multipart.headers()["content-type"].to_str().unwrap().to_string();
    assert!(kind.starts_with("multipart/mixed; boundary="), "{kind}");
    let body = multipart.body_mut().read_to_vec().unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(text.contains("Content-Type: audio/L16") && text.trim_end().ends_with("--audiobook-chunk--"));
}

fn the_openai_route_streams_a_wav_of_unknown_length_and_answers_errors_in_its_envelope(server: &Server) {
    let mut wav = post(
        server,
        "/v1/audio/speech",
        &json!({ "model": "tts-1", "input": SHORT, "voice": "heart", "response_format": "wav" }),
        &[],
    );
    assert_eq!(wav.status().as_u16(), 200);
    let wav = wav.body_mut().read_to_vec().unwrap();
    assert_eq!(&wav[40..44], &[0xff; 4], "a streamed WAV says its length is unknown");
    let mut ours = post(server, "/tts", &json!({ "text": SHORT, "voice": "af_heart" }), &[]);
    let ours = ours.body_mut().read_to_vec().unwrap();
    assert_eq!(wav_data(&wav), wav_data(&ours), "'heart' is af_heart, and the audio is the same");

    let mut pcm = post(
        server,
        "/v1/audio/speech",
        &json!({ "input": SHORT, "voice": "af_heart", "response_format": "pcm" }),
        &[],
    );
    assert_eq!(pcm.body_mut().read_to_vec().unwrap(), wav_data(&ours));

    // OpenAI's default format, mp3, through ffmpeg when the server has it.
    let mut mp3 = post(server, "/v1/audio/speech", &json!({ "input": SHORT, "voice": "af_heart" }), &[]);
    if common::require_for(common::Tool::Ffmpeg, "the mp3 response") {
        assert_eq!(mp3.headers()["content-type"], "audio/mpeg");
        let mp3 = mp3.body_mut().read_to_vec().unwrap();
        assert!(mp3.starts_with(b"ID3") || mp3[0] == 0xff, "an MP3 stream");
        assert!(mp3.len() > 5000, "{} bytes", mp3.len());
    }

    let sse_body = json!({ "input": SHORT, "voice": "af_heart", "response_format": "pcm", "stream_format": "sse" });
    let mut sse = post(server, "/v1/audio/speech", &sse_body, &[]);
    let sse = sse.body_mut().read_to_string().unwrap();
    assert!(sse.contains("speech.audio.delta") && sse.contains("speech.audio.done"));

    // wav: the default, mp3, is refused first where the server has no ffmpeg.
    let bad_voice = json!({ "input": SHORT, "voice": "af_hart", "response_format": "wav" });
    let mut bad = post(server, "/v1/audio/speech", &bad_voice, &[]);
    assert_eq!(bad.status().as_u16(), 400);
    let error = json_of(&bad.body_mut().read_to_vec().unwrap());
    assert_eq!(error["error"]["type"], "invalid_request_error");
    assert_eq!(error["error"]["param"], "voice");
    assert!(error["error"]["message"].as_str().unwrap().contains("af_heart"), "{error}");
}

fn bad_requests_get_a_4xx_naming_the_field(server: &Server) {
    let cases = [
        (json!({ "text": SHORT, "voice": "af_hart" }), 400, "voice"),
        (json!({ "text": SHORT, "speed": 9.0 }), 400, "speed"),
        (json!({ "text": "   " }), 400, "text"),
        (json!({ "voice": "af_heart" }), 400, "text"),
        (json!({ "text": SHORT, "format": "flac" }), 400, "format"),
        (json!({ "text": "word ".repeat(500) }), 413, "text"),
    ];
    for (body, status, field) in cases {
        let mut response = post(server, "/tts", &body, &[]);
        assert_eq!(response.status().as_u16(), status, "{body}");
        let error = json_of(&response.body_mut().read_to_vec().unwrap());
        assert_eq!(error["error"]["field"], field, "{body}: {error}");
    }
    let mut response = agent().post(format!("{}/tts", server.url)).send("{not json").unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(json_of(&response.body_mut().read_to_vec().unwrap())["error"]["field"], "body");
}

#[test]
fn keys_are_asked_for_everywhere_but_the_probes() {
    let server = start_server(&["--jobs", "1"], &[("AUDIOBOOK_API_KEYS", "s3cret,other")]);
    assert_eq!(get(&server, "/health").0, 200);
    assert_eq!(get(&server, "/voices").0, 401);
    let body = json!({ "text": SHORT });
    assert_eq!(post(&server, "/tts", &body, &[("authorization", "Bearer wrong")]).status().as_u16(), 401);
    assert_eq!(post(&server, "/tts", &body, &[("authorization", "Bearer s3cret")]).status().as_u16(), 200);
    assert_eq!(post(&server, "/tts", &body, &[("x-api-key", "other")]).status().as_u16(), 200);
}

/// Reads a streamed response's first line, proving the server has started speaking it.
fn first_line(response: &mut ureq::http::Response<ureq::Body>) -> BufReader<ureq::BodyReader<'_>> {
    let mut reader = BufReader::new(response.body_mut().as_reader());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.contains("\"index\":0"), "{line}");
    reader
}

#[test]
fn a_full_queue_is_refused_with_retry_after_and_a_client_that_leaves_frees_its_session() {
    let server = start_server(&["--jobs", "1", "--queue", "0"], &[]);
    let long = json!({ "text": format!("{LONG} {LONG} {LONG}") });
    let mut first = post(&server, "/tts?stream=true", &long, &[]);
    let reader = first_line(&mut first);

    let refused = post(&server, "/tts", &json!({ "text": SHORT }), &[]);
    assert_eq!(refused.status().as_u16(), 503);
    assert!(refused.headers().get("retry-after").is_some());

    // The first client goes away mid-speech: its session is free again, the rest never spoken.
    drop(reader);
    drop(first);
    let started = Instant::now();
    loop {
        let stats = json_of(&get(&server, "/stats").1);
        if stats["in_flight"] == 0 {
            assert_eq!(stats["requests"]["cancelled"], 1, "{stats}");
            assert_eq!(stats["requests"]["rejected"], 1, "{stats}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the session was not freed: {stats}");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(post(&server, "/tts", &json!({ "text": SHORT }), &[]).status().as_u16(), 200);
}

#[cfg(unix)]
#[test]
fn sigterm_lets_the_request_in_flight_finish_then_exits() {
    let mut server = start_server(&["--jobs", "1"], &[]);
    let mut response = post(&server, "/tts?stream=true", &json!({ "text": LONG }), &[]);
    let mut reader = first_line(&mut response);
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let mut rest = String::new();
    reader.read_to_string(&mut rest).unwrap();
    assert!(rest.trim_end().ends_with("}") && rest.contains("\"done\":true"), "the speech finished: {}", rest.len());
    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not exit");
        std::thread::sleep(Duration::from_millis(100));
    }
}
