//! The one way the phonemizers that run a program (espeak-ng, mecab) talk to it: one long-lived
//! child process, started when first needed and once more if it stopped answering (killed, say).

use std::io::BufRead;
use std::sync::Mutex;

/// The child's lines (line ends removed) up to the one `is_end` accepts, which is left out; its
/// output ending first is an error.
pub(super) fn read_answer(stdout: &mut impl BufRead, is_end: impl Fn(&str) -> bool) -> std::io::Result<Vec<String>> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        if stdout.read_line(&mut line)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "it exited"));
        }
        let line = line.trim_end_matches(['\n', '\r']);
        if is_end(line) {
            return Ok(lines);
        }
        lines.push(line.to_string());
    }
}

/// Asks the child in `slot` with `ask`, starting it with `start` when there is none; a child that
/// fails is dropped and a fresh one asked once. `stopped` turns the last failure into the error.
pub(super) fn ask<R, T, E>(
    slot: &Mutex<Option<R>>,
    start: impl Fn() -> Result<R, E>,
    ask: impl Fn(&mut R) -> std::io::Result<T>,
    stopped: impl Fn(std::io::Error) -> E,
) -> Result<T, E> {
    let mut guard = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut last = None;
    for _ in 0..2 {
        let running = match guard.as_mut() {
            Some(running) => running,
            None => guard.insert(start()?),
        };
        match ask(running) {
            Ok(answer) => return Ok(answer),
            Err(e) => {
                last = Some(e);
                *guard = None;
            }
        }
    }
    Err(stopped(last.unwrap_or_else(|| std::io::Error::other("no answer"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn an_answer_runs_to_its_end_line_and_a_closed_pipe_is_an_error() {
        let mut out: &[u8] = b"a b\r\nc\nEOS\nnext\n";
        assert_eq!(read_answer(&mut out, |l| l == "EOS").unwrap(), ["a b", "c"]);
        let mut cut: &[u8] = b"a\n";
        assert!(read_answer(&mut cut, |l| l == "EOS").is_err());
    }

    #[test]
    fn a_child_that_fails_is_started_again_once() {
        let starts = Cell::new(0);
        let slot = Mutex::new(None);
        let start = || -> Result<u32, std::io::Error> {
            starts.set(starts.get() + 1);
            Ok(starts.get())
        };
        // The first child fails, the second answers.
        let answer = ask(&slot, start, |n| if *n == 1 { Err(std::io::Error::other("dead")) } else { Ok(*n) }, |e| e);
        assert_eq!(answer.ok(), Some(2));
        assert_eq!(ask(&slot, start, |n| Ok(*n), |e| e).ok(), Some(2), "the live child is kept");
        let failing = ask(&slot, start, |_| Err::<u32, _>(std::io::Error::other("dead")), |e| e);
        assert_eq!(failing.map_err(|e| e.to_string()), Err("dead".to_string()));
        assert_eq!(starts.get(), 3, "one restart, not more");
    }
}
