//! The one way the phonemizers that run a program (espeak-ng, mecab) talk to it: one long-lived
//! child process, started when first needed and once more if it stopped answering (killed, say).

use std::sync::Mutex;

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
    fn a_child_that_fails_is_started_again_once() {
        let starts = Cell::new(0);
        let slot = Mutex::new(None);
        let start = || -> Result<u32, String> {
            starts.set(starts.get() + 1);
            Ok(starts.get())
        };
        // The first child fails, the second answers.
        let answer =
            ask(&slot, start, |n| if *n == 1 { Err(std::io::Error::other("dead")) } else { Ok(*n) }, |e| e.to_string());
        assert_eq!(answer, Ok(2));
        assert_eq!(ask(&slot, start, |n| Ok(*n), |e| e.to_string()), Ok(2), "the live child is kept");
        let failing = ask(&slot, start, |_| Err::<u32, _>(std::io::Error::other("dead")), |e| e.to_string());
        assert_eq!(failing, Err("dead".to_string()));
        assert_eq!(starts.get(), 3, "one restart, not more");
    }
}
