//! Chapter rules shared by every format: tidying the chapters a reader produced, and splitting
//! a chapter too long to navigate.
//!
//! [`split_long`] is called by `plan`, which knows how long each block will sound; it cuts at the
//! chapter's own headings where it can (parts titled by those headings), else between paragraphs
//! (parts titled "Title (2/3)").

use super::{Block, BlockKind, Chapter, Section};

/// Drops empty chapters and joins heading-only ones ("Part I") to the start of the next chapter.
pub(crate) fn tidy(chapters: Vec<Chapter>) -> Vec<Chapter> {
    let mut out: Vec<Chapter> = Vec::new();
    let mut carry: Vec<Block> = Vec::new();
    for mut ch in chapters {
        if ch.blocks.is_empty() {
            continue;
        }
        if ch.blocks.iter().all(is_heading) {
            carry.append(&mut ch.blocks);
            continue;
        }
        if !carry.is_empty() {
            for s in &mut ch.sections {
                s.block += carry.len();
            }
            carry.append(&mut ch.blocks);
            ch.blocks = std::mem::take(&mut carry);
        }
        out.push(ch);
    }
    out
}

fn is_heading(b: &Block) -> bool {
    matches!(b.kind, BlockKind::Heading { .. })
}

/// Splits `chapter` into parts of at most `limit_ms` of audio where its blocks allow, given each
/// block's estimated duration (`block_ms`, one per block). A chapter within the limit, or one
/// that cannot be cut, comes back whole.
pub fn split_long(chapter: Chapter, block_ms: &[u64], limit_ms: u64) -> Vec<Chapter> {
    if limit_ms == 0 || block_ms.len() != chapter.blocks.len() {
        return vec![chapter];
    }
    let cuts = cut_points(&chapter.blocks, block_ms, limit_ms);
    if cuts.is_empty() {
        return vec![chapter];
    }
    let by_headings = cuts.iter().all(|&c| is_heading(&chapter.blocks[c]));
    let parts = cuts.len() + 1;
    let bounds: Vec<usize> = std::iter::once(0).chain(cuts).chain(std::iter::once(chapter.blocks.len())).collect();
    let Chapter { title, mut blocks, sections } = chapter;
    let mut out = Vec::with_capacity(parts);
    // Taken from the back so each part's blocks are moved, not cloned.
    for k in (0..parts).rev() {
        let (from, to) = (bounds[k], bounds[k + 1]);
        let part_blocks = blocks.split_off(from);
        let part_title = match (by_headings, k) {
            (true, 0) => title.clone(),
            (true, _) => part_blocks[0].text.clone(),
            (false, _) => format!("{title} ({}/{parts})", k + 1),
        };
        let part_sections = sections
            .iter()
            .filter(|s| (from..to).contains(&s.block))
            .map(|s| Section { block: s.block - from, ..s.clone() })
            .filter(|s| s.block > 0 || s.title != part_title)
            .collect();
        out.push(Chapter { title: part_title, blocks: part_blocks, sections: part_sections });
    }
    out.reverse();
    out
}

/// Block indices where new parts start. Each part is cut as near as possible to an even share of
/// what is left, never past the limit: at a heading of the chapter's top level where one fits,
/// else at any heading, else between paragraphs (never just after a heading).
fn cut_points(blocks: &[Block], block_ms: &[u64], limit_ms: u64) -> Vec<usize> {
    let mut prefix = vec![0u64; blocks.len() + 1];
    for (i, ms) in block_ms.iter().enumerate() {
        prefix[i + 1] = prefix[i] + ms;
    }
    let total = prefix[blocks.len()];
    let starts_part = |c: usize| c > 0 && !is_heading(&blocks[c - 1]);
    let heading_level = |c: usize| match blocks[c].kind {
        BlockKind::Heading { level } => Some(level),
        _ => None,
    };
    let top_level = (1..blocks.len()).filter(|&c| starts_part(c)).filter_map(heading_level).min();
    let mut cuts = Vec::new();
    let mut start = 0;
    while total - prefix[start] > limit_ms {
        let remaining = total - prefix[start];
        let target = remaining / remaining.div_ceil(limit_ms);
        let fits = |c: &usize| prefix[*c] - prefix[start] <= limit_ms;
        let nearest = |candidates: Vec<usize>| {
            candidates.into_iter().min_by_key(|&c| (prefix[c] - prefix[start]).abs_diff(target))
        };
        // A cut at a heading is worth a part somewhat shorter than the even share.
        let sizable = |c: &usize| 2 * (prefix[*c] - prefix[start]) >= target;
        let open: Vec<usize> = (start + 1..blocks.len()).filter(|&c| starts_part(c)).filter(fits).collect();
        let at = |pick: &dyn Fn(usize) -> bool| open.iter().copied().filter(|&c| pick(c)).filter(sizable).collect();
        let cut = nearest(at(&|c| top_level.is_some() && heading_level(c) == top_level))
            .or_else(|| nearest(at(&|c| heading_level(c).is_some())))
            .or_else(|| nearest(open.clone()))
            // One block longer than the limit: cut right after it.
            .or_else(|| (start + 1..blocks.len()).find(|&c| starts_part(c)));
        match cut {
            Some(c) => {
                cuts.push(c);
                start = c;
            }
            None => break,
        }
    }
    cuts
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::ingest::Source;

    fn block(kind: BlockKind, text: &str) -> Block {
        Block { kind, text: text.into(), source: Source { file: PathBuf::from("x"), range: 0..0 }, language: None }
    }

    fn para(text: &str) -> Block {
        block(BlockKind::Paragraph, text)
    }

    fn heading(level: u8, text: &str) -> Block {
        block(BlockKind::Heading { level }, text)
    }

    fn titles(chapters: &[Chapter]) -> Vec<&str> {
        chapters.iter().map(|c| c.title.as_str()).collect()
    }

    #[test]
    fn a_chapter_within_the_limit_stays_whole() {
        let ch = Chapter::new("One", vec![para("a"), para("b")]);
        assert_eq!(split_long(ch.clone(), &[10, 10], 20).len(), 1);
        assert_eq!(split_long(ch, &[10, 10], 0).len(), 1);
    }

    #[test]
    fn splits_at_its_own_top_level_headings() {
        let blocks = vec![
            heading(1, "Guide"),
            para("a"),
            heading(2, "Install"),
            para("b"),
            heading(3, "Detail"),
            para("c"),
            heading(2, "Use"),
            para("d"),
        ];
        let mut ch = Chapter::new("Guide", blocks);
        ch.sections = vec![
            Section { title: "Install".into(), block: 2, depth: 1 },
            Section { title: "Detail".into(), block: 4, depth: 2 },
            Section { title: "Use".into(), block: 6, depth: 1 },
        ];
        let parts = split_long(ch, &[1, 30, 1, 20, 1, 20, 1, 30], 60);
        assert_eq!(titles(&parts), ["Guide", "Install", "Use"]);
        assert_eq!(parts[1].blocks.len(), 4);
        // The part's own title is not repeated as a section; the deeper one moves with its text.
        assert_eq!(parts[1].sections, [Section { title: "Detail".into(), block: 2, depth: 2 }]);
        assert!(parts[2].sections.is_empty());
    }

    #[test]
    fn without_headings_splits_between_paragraphs_into_numbered_parts() {
        let blocks: Vec<Block> = (0..9).map(|i| para(&i.to_string())).collect();
        let parts = split_long(Chapter::new("Long", blocks), &[20; 9], 60);
        assert_eq!(titles(&parts), ["Long (1/3)", "Long (2/3)", "Long (3/3)"]);
        assert!(parts.iter().all(|p| p.blocks.len() == 3));
    }

    #[test]
    fn never_separates_a_heading_from_its_text() {
        let blocks = vec![para("a"), heading(2, "H"), para("b"), para("c")];
        let parts = split_long(Chapter::new("T", blocks), &[30, 1, 20, 20], 60);
        assert_eq!(titles(&parts), ["T", "H"]);
    }

    #[test]
    fn tidy_moves_sections_with_carried_headings() {
        let mut ch = Chapter::new("I", vec![para("text"), para("more")]);
        ch.sections = vec![Section { title: "s".into(), block: 1, depth: 1 }];
        let out = tidy(vec![Chapter::new("Part", vec![heading(1, "Part")]), ch]);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].sections[0].block, 2);
    }
}
