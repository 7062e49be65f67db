//! Where a long call's frames are cut into decoder windows.
//!
//! The decoder renders each window on its own, so a cut belongs where the audio is quiet: in
//! the middle of the longest pause (a punctuation token's frames) in reach, else of the longest
//! word gap, else anywhere. Each window also renders a few frames of context on both sides,
//! which are computed and dropped, so the convolutions at its edges see the real neighbours.

use std::ops::Range;

use super::SPACE_ID;

/// Frames of context rendered on each side of a window and dropped.
pub(super) const CONTEXT: usize = 3;

/// Token ids after which the model pauses: ; : , . ! ? — …
const PAUSES: [i64; 8] = [1, 2, 3, 4, 5, 6, 9, 10];

/// One decoder run: the frames it renders, and the frames of its output that are kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Window {
    pub(super) render: Range<usize>,
    pub(super) keep: Range<usize>,
}

/// Windows covering every frame of a call once, in order, none keeping more than `max` frames
/// (`max == 0`: one window). `ids` are the call's tokens (pads included) and `frames` how many
/// frames each lasts.
pub(super) fn plan(ids: &[i64], frames: &[u32], max: usize) -> Vec<Window> {
    let total: usize = frames.iter().map(|&f| f as usize).sum();
    let mut cuts = vec![0];
    if max > 0 {
        let mut start = 0;
        while total - start > max {
            let cut = best_cut(ids, frames, start + max / 3, start + max).unwrap_or(start + max);
            cuts.push(cut);
            start = cut;
        }
    }
    cuts.push(total);
    cuts.windows(2)
        .map(|pair| Window {
            render: pair[0].saturating_sub(CONTEXT)..(pair[1] + CONTEXT).min(total),
            keep: pair[0]..pair[1],
        })
        .collect()
}

/// The middle of the best quiet token whose middle lies in `(after, until]`.
fn best_cut(ids: &[i64], frames: &[u32], after: usize, until: usize) -> Option<usize> {
    let mut start = 0;
    let mut best: Option<((u8, u32), usize)> = None;
    for (&id, &length) in ids.iter().zip(frames) {
        let middle = start + length as usize / 2;
        start += length as usize;
        let rank = if PAUSES.contains(&id) {
            1
        } else if id == SPACE_ID {
            0
        } else {
            continue;
        };
        if length < 2 || middle <= after || middle > until {
            continue;
        }
        let score = (rank, length);
        if best.is_none_or(|(s, _)| score >= s) {
            best = Some((score, middle));
        }
    }
    best.map(|(_, middle)| middle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(windows: &[Window]) -> Vec<Range<usize>> {
        windows.iter().map(|w| w.keep.clone()).collect()
    }

    #[test]
    fn a_short_call_is_one_window() {
        let windows = plan(&[0, 50, 4, 0], &[3, 100, 10, 2], 300);
        assert_eq!(windows, vec![Window { render: 0..115, keep: 0..115 }]);
        assert_eq!(kept(&plan(&[0, 50, 0], &[3, 1000, 2], 0)), vec![0..1005]);
    }

    #[test]
    fn a_long_call_is_cut_in_the_middle_of_its_longest_pause_in_reach() {
        // A comma (3) of 4 frames at 200..204 and a full stop (4) of 10 frames at 250..260.
        let ids = [0, 50, 3, 50, 4, 50, 0];
        let frames = [5, 195, 4, 46, 10, 290, 5];
        let windows = plan(&ids, &frames, 300);
        assert_eq!(kept(&windows), vec![0..255, 255..555]);
        assert_eq!(windows[0].render, 0..255 + CONTEXT);
        assert_eq!(windows[1].render, 255 - CONTEXT..555);
    }

    #[test]
    fn without_pauses_the_cut_falls_in_a_word_gap_then_anywhere() {
        let ids = [0, 50, 16, 50, 0];
        let frames = [5, 150, 2, 250, 5];
        assert_eq!(kept(&plan(&ids, &frames, 300)), vec![0..156, 156..412]);
        let no_gap = plan(&[0, 50, 0], &[5, 700, 5], 300);
        assert_eq!(kept(&no_gap), vec![0..300, 300..600, 600..710]);
    }

    #[test]
    fn windows_cover_every_frame_once_and_keep_at_most_the_limit() {
        let ids: Vec<i64> = (0..500).map(|i| [50, 16, 60, 3, 70, 4][i % 6]).collect();
        let frames: Vec<u32> = (0..500).map(|i| (i * 7 % 5) as u32).collect();
        let total: usize = frames.iter().map(|&f| f as usize).sum();
        for max in [40, 100, 300] {
            let windows = plan(&ids, &frames, max);
            let mut next = 0;
            for w in &windows {
                assert_eq!(w.keep.start, next);
                assert!(w.keep.len() <= max && !w.keep.is_empty());
                assert!(w.render.start <= w.keep.start && w.keep.end <= w.render.end && w.render.end <= total);
                next = w.keep.end;
            }
            assert_eq!(next, total);
        }
    }
}
