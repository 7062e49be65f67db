//! The page at `/` in a real headless browser (Debian's Chromium, driven by playwright-core from
//! tests/page/check.mjs): it speaks a sentence and the highlighted word advances in order to the
//! last word. Skipped, saying why, where Chromium, Node.js or playwright-core is missing
//! (`.ci/run` installs them; PLAYWRIGHT_DIR names the folder whose node_modules holds it).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;

#[test]
fn the_page_highlights_each_word_in_order_as_it_is_spoken() {
    if !common::require(common::Tool::Chromium) {
        return;
    }
    let playwright = common::playwright_dir().unwrap();
    let server = common::start_server(&[], &[]);
    let url = server.url.clone();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/page/check.mjs");
    let output = Command::new("node").arg(script).arg(format!("{url}/")).env("PLAYWRIGHT_DIR", &playwright).output();
    drop(server);
    let output = output.unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let seen: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let words = seen["words"].as_u64().unwrap();
    let order: Vec<u64> = seen["seen"].as_array().unwrap().iter().map(|w| w.as_u64().unwrap()).collect();
    eprintln!("highlighted: {order:?} of {words} words");
    assert!(words >= 10, "the sentence's words are on the page");
    assert!(order.windows(2).all(|w| w[0] < w[1]), "the highlight only moves forward: {order:?}");
    assert_eq!(order.last().copied(), Some(words - 1), "it reaches the last word");
    assert!(order.len() as u64 >= words / 2, "it steps through the words, not straight to the end: {order:?}");
}
