//! The G2P of the z voices: Mandarin as upstream misaki's `ZHG2P` reads it for Kokoro-82M v1.0
//! (version None, the "legacy" path), ported to Rust.
//!
//! Upstream: cn2an turns Arabic numbers into Chinese ones (`an2cn`: dates digit by digit, ranges,
//! fractions, percentages, degrees, then plain numbers), full-width punctuation becomes ASCII
//! (`，` -> `, `, `《` -> ` “` ...), runs of Han characters are cut into words by jieba (precise
//! mode, with its HMM), each word is read by pypinyin (`lazy_pinyin`, TONE3, its phrase dictionary
//! by forward maximum matching, else each character's first reading), each syllable goes through
//! `pinyin_to_ipa` and `retone` (tone letters to arrows), and the words are joined by spaces.
//!
//! Here: jieba-rs cuts the words; pypinyin's readings and misaki's IPA for every syllable come
//! from `zh_pinyin.txt.gz`, generated from pypinyin 0.55.0 and misaki 0.9.4 (both MIT) by
//! `tools/zh_pinyin_table.py`; cn2an's `an2cn` rules are ported below. Two deviations, both on
//! text upstream reads badly: runs of Latin letters go to the English G2P (upstream passes the raw
//! letters on, kokoro#238), and digits cn2an cannot read (more than 16) are read digit by digit.
//!
//! Each output word keeps the source text it came from (a date read as several Chinese words is
//! one word, "2024年3月15日"), so timing and text checks see the text as written.

use std::collections::HashMap;
use std::io::Read;
use std::ops::Range;
use std::sync::OnceLock;

use jieba_rs::Jieba;
use loqui_g2p::{Dialect, G2p, OovFallback};
use regex::Regex;

use super::{PhonemeWord, PhonemizeError, token_ids, vocab};

/// pypinyin's readings and misaki's IPA, see `tools/zh_pinyin_table.py`.
const TABLE: &[u8] = include_bytes!("zh_pinyin.txt.gz");

/// The Mandarin G2P: jieba's dictionary (about 0.3 s to load) and the reading table.
pub struct Mandarin {
    jieba: Jieba,
    english: OnceLock<Option<G2p>>,
}

impl Mandarin {
    /// Loads jieba's dictionary and the reading table.
    pub fn new() -> Result<Self, PhonemizeError> {
        table().map_err(|e| PhonemizeError::Init(e.to_string()))?;
        Ok(Self { jieba: Jieba::new(), english: OnceLock::new() })
    }

    /// Phonemes of `text` as misaki's `ZHG2P` (Kokoro v1.0) gives them, but for Latin letters,
    /// read here in English.
    pub fn phonemize(&self, text: &str) -> String {
        let mut out = String::new();
        for token in self.tokens(text) {
            out.push_str(&token.phonemes);
            if token.space_after {
                out.push(' ');
            }
        }
        out.trim_end().to_string()
    }

    /// The words and marks of `text`, each with its phonemes and its source text.
    pub fn phoneme_words(&self, text: &str) -> Vec<PhonemeWord> {
        let tokens = self.tokens(text);
        let mut words: Vec<(PhonemeWord, Range<usize>)> = Vec::new();
        for token in tokens {
            match words.last_mut() {
                // Words of one number or date, or one mark's replacement: one source word.
                Some((word, range)) if token.source.start < range.end && !token.source.is_empty() => {
                    if word.space_after {
                        word.phonemes.push(' ');
                    }
                    word.phonemes.push_str(&token.phonemes);
                    word.space_after = token.space_after;
                    range.end = range.end.max(token.source.end);
                }
                _ => {
                    let word = PhonemeWord {
                        text: String::new(),
                        phonemes: token.phonemes,
                        ids: Vec::new(),
                        space_after: token.space_after,
                    };
                    words.push((word, token.source));
                }
            }
        }
        words
            .into_iter()
            .map(|(mut word, range)| {
                word.text = text.get(range).unwrap_or_default().to_string();
                word.phonemes = word.phonemes.chars().filter(|c| vocab().contains_key(c)).collect();
                word.ids = token_ids(&word.phonemes);
                word
            })
            .collect()
    }

    fn tokens(&self, text: &str) -> Vec<Token> {
        let mut mapped = Mapped::new(text);
        an2cn_transform(&mut mapped);
        map_punctuation(&mut mapped);
        mapped.strip();
        let normalized = mapped.text();
        let offsets = mapped.offsets();
        let source = |bytes: Range<usize>| mapped.source(&offsets, bytes);
        let mut tokens: Vec<Token> = Vec::new();
        for run in han_runs().find_iter(&normalized) {
            let (start, piece) = (run.start(), run.as_str());
            if is_han(piece.chars().next().unwrap_or_default()) {
                for word in self.jieba.cut(piece, true) {
                    let bytes = start + word.byte_start..start + word.byte_end;
                    tokens.push(Token { phonemes: word_ipa(word.word), source: source(bytes), space_after: true });
                }
                if let Some(last) = tokens.last_mut() {
                    last.space_after = false;
                }
                continue;
            }
            // Not Han: spaces, marks and words of other letters.
            let mut chars = piece.char_indices().peekable();
            while let Some((at, c)) = chars.next() {
                if c.is_whitespace() {
                    if let Some(last) = tokens.last_mut() {
                        last.space_after = true;
                    }
                    continue;
                }
                let mut end = at + c.len_utf8();
                if c.is_alphanumeric() {
                    while let Some(&(next, n)) = chars.peek() {
                        if !(n.is_alphanumeric() || n == '\'') {
                            break;
                        }
                        end = next + n.len_utf8();
                        chars.next();
                    }
                }
                let word = &piece[at..end];
                let phonemes = if word.chars().any(|c| c.is_ascii_alphabetic()) {
                    self.english(word)
                } else {
                    // As upstream: the text itself (Kokoro's vocabulary keeps the marks).
                    word.to_string()
                };
                tokens.push(Token { phonemes, source: source(start + at..start + end), space_after: false });
            }
        }
        tokens
    }

    /// English phonemes of a run of Latin letters (upstream passes the letters on as they are).
    fn english(&self, word: &str) -> String {
        let g2p = self.english.get_or_init(|| G2p::new(Dialect::American, OovFallback::Neural).ok());
        match g2p {
            Some(g2p) => g2p.phonemize(word).trim().to_string(),
            None => word.to_string(),
        }
    }
}

/// A G2P token before words of one source span are merged.
struct Token {
    phonemes: String,
    /// Its byte range in the source text.
    source: Range<usize>,
    space_after: bool,
}

/// Normalized text, each character with the source bytes it stands for.
struct Mapped {
    units: Vec<(char, Range<usize>)>,
}

impl Mapped {
    fn new(text: &str) -> Self {
        Self { units: text.char_indices().map(|(at, c)| (c, at..at + c.len_utf8())).collect() }
    }

    fn text(&self) -> String {
        self.units.iter().map(|(c, _)| c).collect()
    }

    /// The byte offset of each unit in [`Mapped::text`], and the length at the end.
    fn offsets(&self) -> Vec<usize> {
        let mut out = Vec::with_capacity(self.units.len() + 1);
        let mut at = 0;
        for (c, _) in &self.units {
            out.push(at);
            at += c.len_utf8();
        }
        out.push(at);
        out
    }

    /// The source range the normalized `bytes` stand for.
    fn source(&self, offsets: &[usize], bytes: Range<usize>) -> Range<usize> {
        let first = offsets.partition_point(|&o| o < bytes.start);
        let last = offsets.partition_point(|&o| o < bytes.end);
        let units = &self.units[first.min(self.units.len())..last.min(self.units.len())];
        let start = units.iter().map(|(_, r)| r.start).min();
        let end = units.iter().map(|(_, r)| r.end).max();
        match (start, end) {
            (Some(start), Some(end)) => start..end,
            _ => 0..0,
        }
    }

    /// Replaces byte ranges of the text (in order, not overlapping); each new character stands
    /// for all the source the replaced ones did.
    fn replace(&mut self, replacements: Vec<(Range<usize>, String)>) {
        if replacements.is_empty() {
            return;
        }
        let offsets = self.offsets();
        let mut out = Vec::with_capacity(self.units.len());
        let mut unit = 0;
        for (bytes, with) in replacements {
            while unit < self.units.len() && offsets[unit] < bytes.start {
                out.push(self.units[unit].clone());
                unit += 1;
            }
            let first = unit;
            while unit < self.units.len() && offsets[unit] < bytes.end {
                unit += 1;
            }
            let replaced = &self.units[first..unit];
            let start = replaced.iter().map(|(_, r)| r.start).min().unwrap_or_default();
            let end = replaced.iter().map(|(_, r)| r.end).max().unwrap_or_default();
            out.extend(with.chars().map(|c| (c, start..end)));
        }
        out.extend(self.units[unit..].iter().cloned());
        self.units = out;
    }

    /// Python's `str.strip()`.
    fn strip(&mut self) {
        while self.units.last().is_some_and(|(c, _)| c.is_whitespace()) {
            self.units.pop();
        }
        let lead = self.units.iter().take_while(|(c, _)| c.is_whitespace()).count();
        self.units.drain(..lead);
    }
}

fn is_han(c: char) -> bool {
    ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

fn han_runs() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new("[\u{4E00}-\u{9FFF}]+|[^\u{4E00}-\u{9FFF}]+").unwrap_or_else(|_| unreachable!()))
}

/// misaki's `map_punctuation`.
fn map_punctuation(mapped: &mut Mapped) {
    let text = mapped.text();
    let replacements = text
        .char_indices()
        .filter_map(|(at, c)| {
            let with = match c {
                '、' | '，' => ", ",
                '。' | '．' => ". ",
                '！' => "! ",
                '：' => ": ",
                '；' => "; ",
                '？' => "? ",
                '«' | '《' | '「' | '【' => " \u{201C}",
                '»' | '》' | '」' | '】' => "\u{201D} ",
                '（' => " (",
                '）' => ") ",
                _ => return None,
            };
            Some((at..at + c.len_utf8(), with.to_string()))
        })
        .collect();
    mapped.replace(replacements);
}

// --- cn2an 0.5.24, `transform(text, "an2cn")` ---------------------------------------------------

/// cn2an's measure words, after which `3-5` is a range.
const MEASURE_WORDS: [&str; 33] = [
    "斤", "克", "千克", "公斤", "吨", "米", "厘米", "毫米", "公里", "升", "毫升", "元", "角", "分", "个", "只", "条",
    "张", "块", "瓶", "杯", "份", "本", "辆", "台", "匹", "头", "位", "亩", "小时", "分钟", "秒", "天",
];

fn regex(pattern: &'static str) -> Regex {
    Regex::new(pattern).unwrap_or_else(|_| unreachable!())
}

fn an2cn_transform(mapped: &mut Mapped) {
    static PATTERNS: OnceLock<[Regex; 6]> = OnceLock::new();
    let [range, date, fraction, percent, celsius, number] = PATTERNS.get_or_init(|| {
        [
            regex(r"\d+(\.\d+)?-\d+(\.\d+)?"),
            regex(r"(\d{2,4}年)?(\d{1,2}月)?(\d{1,2}日)?"),
            regex(r"\d+/\d+"),
            regex(r"-?(\d+\.)?\d+%"),
            regex(r"\d+℃"),
            regex(r"-?(\d+\.)?\d+"),
        ]
    });
    // Ranges before a measure word (a lookahead upstream): "3-5个" -> "三到五个".
    let text = mapped.text();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(m) = range.find_at(&text, from) {
        if MEASURE_WORDS.iter().any(|w| text[m.end()..].starts_with(w)) {
            let replaced = m.as_str().split_once('-').and_then(|(a, b)| Some(format!("{}到{}", low(a)?, low(b)?)));
            found.push((m.range(), replaced.unwrap_or_else(|| m.as_str().to_string())));
            from = m.end();
        } else {
            from = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
        }
    }
    mapped.replace(found);
    substitute(mapped, date, |s| {
        let mut out = String::new();
        let mut rest = s;
        if let Some((year, after)) = s.split_once('年') {
            out.push_str(&direct(year)?);
            out.push('年');
            rest = after;
        }
        let digits = regex_digits();
        let mut at = 0;
        for m in digits.find_iter(rest) {
            out.push_str(&rest[at..m.start()]);
            out.push_str(&low(m.as_str())?);
            at = m.end();
        }
        out.push_str(&rest[at..]);
        Some(out)
    });
    substitute(mapped, fraction, |s| {
        let (numerator, denominator) = s.split_once('/')?;
        Some(format!("{}分之{}", low(denominator)?, low(numerator)?))
    });
    substitute(mapped, percent, |s| Some(format!("百分之{}", low(s.strip_suffix('%')?)?)));
    substitute(mapped, celsius, |s| Some(format!("{}摄氏度", low(s.strip_suffix('℃')?)?)));
    substitute(mapped, number, low);
    // Not upstream: digits cn2an left (more than 16 of them) are read one by one, never dropped.
    substitute(mapped, regex_digits(), direct);
}

fn regex_digits() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| regex(r"\d+"))
}

/// Replaces every non-empty match of `pattern` by `with` of it; `None` (cn2an's errors) keeps it.
fn substitute(mapped: &mut Mapped, pattern: &Regex, with: impl Fn(&str) -> Option<String>) {
    let text = mapped.text();
    let found = pattern
        .find_iter(&text)
        .filter(|m| !m.is_empty())
        .filter_map(|m| Some((m.range(), with(m.as_str())?)))
        .collect();
    mapped.replace(found);
}

const DIGITS: [&str; 10] = ["零", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
const UNITS: [&str; 16] =
    ["", "十", "百", "千", "万", "十", "百", "千", "亿", "十", "百", "千", "万", "十", "百", "千"];

/// cn2an's input check: full-width digits become ASCII, anything but digits, `.` and `-` fails.
fn ascii_digits(s: &str) -> Option<String> {
    s.chars()
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - '０' as u32 + '0' as u32),
            '0'..='9' | '.' | '-' => Some(c),
            _ => None,
        })
        .collect()
}

/// `An2Cn.an2cn(s, "direct")`: digit by digit.
fn direct(s: &str) -> Option<String> {
    let s = ascii_digits(s)?;
    let (sign, s) = match s.strip_prefix('-') {
        Some(rest) => ("负", rest.to_string()),
        None => ("", s),
    };
    let digits: Option<String> =
        s.chars().map(|c| if c == '.' { Some("点") } else { DIGITS.get(c.to_digit(10)? as usize).copied() }).collect();
    Some(format!("{sign}{}", digits?))
}

/// `An2Cn.an2cn(s, "low")`: 1024 -> 一千零二十四, 3.5 -> 三点五, -2 -> 负二.
fn low(s: &str) -> Option<String> {
    let s = ascii_digits(s)?;
    if s.is_empty() {
        return None;
    }
    let (sign, s) = match s.strip_prefix('-') {
        Some(rest) => ("负", rest),
        None => ("", s.as_str()),
    };
    let parts: Vec<&str> = s.split('.').collect();
    let out = match parts.as_slice() {
        [integer] => integer_convert(integer)?,
        [integer, decimal] => {
            let mut out = integer_convert(integer)?;
            let decimal: String = decimal.chars().take(16).collect();
            if !decimal.is_empty() {
                out.push('点');
            }
            for c in decimal.chars() {
                out.push_str(DIGITS[c.to_digit(10)? as usize]);
            }
            out
        }
        _ => return None,
    };
    Some(format!("{sign}{out}"))
}

fn integer_convert(integer: &str) -> Option<String> {
    if integer.is_empty() || !integer.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let trimmed = integer.trim_start_matches('0');
    let digits: Vec<usize> = if trimmed.is_empty() {
        vec![0]
    } else {
        trimmed.chars().filter_map(|c| c.to_digit(10)).map(|d| d as usize).collect()
    };
    let n = digits.len();
    if n > UNITS.len() {
        return None;
    }
    let mut out = String::new();
    for (i, &d) in digits.iter().enumerate() {
        let place = n - i - 1;
        if d != 0 {
            out.push_str(DIGITS[d]);
            out.push_str(UNITS[place]);
        } else {
            if place.is_multiple_of(4) {
                out.push_str(DIGITS[0]);
                out.push_str(UNITS[place]);
            }
            if i > 0 && !out.ends_with('零') {
                out.push_str(DIGITS[0]);
            }
        }
    }
    let out = out.replace("零零", "零").replace("零万", "万").replace("零亿", "亿").replace("亿万", "亿");
    let out = out.trim_matches('零');
    static GAP: OnceLock<Regex> = OnceLock::new();
    let gap = GAP.get_or_init(|| regex("([万亿])零([一二三四五六七八九壹贰叁肆伍陆柒捌玖][千仟])"));
    let out = gap.replace_all(out, "$1$2").into_owned();
    let out = match out.strip_prefix("一十") {
        Some(rest) => format!("十{rest}"),
        None => out,
    };
    Some(if out.is_empty() { "零".to_string() } else { out })
}

// --- pypinyin and misaki's IPA ---------------------------------------------------------------

/// The reading table, parsed once.
struct Table {
    /// TONE3 syllable -> IPA with tone arrows.
    ipa: HashMap<&'static str, &'static str>,
    /// A character's first reading.
    chars: HashMap<char, &'static str>,
    /// pypinyin's phrases, sorted, with their readings where they differ from the characters'.
    phrases: Vec<(&'static str, Option<&'static str>)>,
}

/// The reading table built into this program does not decompress or parse: a build defect.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the Mandarin reading table built into this program is damaged")]
pub struct DamagedTable;

fn table() -> Result<&'static Table, DamagedTable> {
    static TABLE_ONCE: OnceLock<Result<Table, DamagedTable>> = OnceLock::new();
    TABLE_ONCE.get_or_init(load_table).as_ref().map_err(|e| *e)
}

fn load_table() -> Result<Table, DamagedTable> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(TABLE).read_to_string(&mut text).map_err(|_| DamagedTable)?;
    let text: &'static str = Box::leak(text.into_boxed_str());
    let mut sections = text.split("\n--\n");
    let (Some(syllables), Some(chars), Some(phrases)) = (sections.next(), sections.next(), sections.next()) else {
        return Err(DamagedTable);
    };
    let pairs = |section: &'static str| section.lines().filter_map(|l| l.split_once('\t'));
    let ipa = pairs(syllables).collect();
    let chars = pairs(chars).filter_map(|(c, py)| Some((c.chars().next()?, py))).collect();
    let mut phrases: Vec<(&str, Option<&str>)> = phrases
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| match l.split_once('\t') {
            Some((phrase, readings)) => (phrase, Some(readings)),
            None => (l, None),
        })
        .collect();
    phrases.sort_unstable_by_key(|(phrase, _)| *phrase);
    Ok(Table { ipa, chars, phrases })
}

impl Table {
    fn position(&self, text: &str) -> usize {
        self.phrases.partition_point(|(phrase, _)| *phrase < text)
    }

    /// Whether some phrase starts with `text` (pypinyin's prefix set).
    fn is_prefix(&self, text: &str) -> bool {
        self.phrases.get(self.position(text)).is_some_and(|(phrase, _)| phrase.starts_with(text))
    }

    fn phrase(&self, text: &str) -> Option<Option<&'static str>> {
        self.phrases.get(self.position(text)).filter(|(phrase, _)| *phrase == text).map(|(_, readings)| *readings)
    }

    /// pypinyin's `mmseg.seg.cut` (forward maximum matching, `no_non_phrases=True`).
    fn cut<'a>(&self, text: &'a str) -> Vec<&'a str> {
        let mut out = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            let mut last_valid = None;
            let mut stopped = false;
            for (at, c) in rest.char_indices() {
                let end = at + c.len_utf8();
                let word = &rest[..end];
                if self.is_prefix(word) {
                    if self.phrase(word).is_some() {
                        last_valid = Some(end);
                    }
                    continue;
                }
                let take = last_valid.unwrap_or_else(|| rest.chars().next().map_or(rest.len(), char::len_utf8));
                out.push(&rest[..take]);
                rest = &rest[take..];
                stopped = true;
                break;
            }
            if !stopped {
                match last_valid {
                    Some(take) => {
                        out.push(&rest[..take]);
                        rest = &rest[take..];
                    }
                    None => {
                        out.extend(rest.char_indices().map(|(at, c)| &rest[at..at + c.len_utf8()]));
                        rest = "";
                    }
                }
            }
        }
        out
    }

    /// `lazy_pinyin(word, style=TONE3, neutral_tone_with_five=True)`.
    fn pinyin(&self, word: &str) -> Vec<&'static str> {
        let mut out = Vec::new();
        for piece in self.cut(word) {
            match self.phrase(piece) {
                Some(Some(readings)) => out.extend(readings.split(' ')),
                _ => out.extend(piece.chars().filter_map(|c| self.chars.get(&c).copied())),
            }
        }
        out
    }
}

/// misaki's `word2ipa`: the word's syllables in IPA, with tone arrows.
fn word_ipa(word: &str) -> String {
    let Ok(table) = table() else { return String::new() };
    table.pinyin(word).into_iter().filter_map(|py| table.ipa.get(py).copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cn2an_reads_numbers_as_upstream() {
        let read = |s: &str| {
            let mut mapped = Mapped::new(s);
            an2cn_transform(&mut mapped);
            mapped.text()
        };
        assert_eq!(read("100块钱"), "一百块钱");
        assert_eq!(read("2001年3月4日"), "二零零一年三月四日");
        assert_eq!(read("8%"), "百分之八");
        assert_eq!(read("1/2"), "二分之一");
        assert_eq!(read("39℃"), "三十九摄氏度");
        assert_eq!(read("-3.8%"), "百分之负三点八");
        assert_eq!(read("3-5个"), "三到五个");
        assert_eq!(read("10086"), "一万零八十六");
        assert_eq!(read("100000001"), "一亿零一");
        assert_eq!(read("12345678901234567890"), "一二三四五六七八九零一二三四五六七八九零");
    }

    #[test]
    fn polyphones_follow_pypinyin_phrases() {
        let table = table().unwrap();
        assert_eq!(table.pinyin("银行"), ["yin2", "hang2"]);
        assert_eq!(table.pinyin("长大"), ["zhang3", "da4"]);
        assert_eq!(table.pinyin("行"), ["xing2"]);
    }

    #[test]
    fn words_keep_their_source_text() {
        let g2p = Mandarin::new().unwrap();
        let words = g2p.phoneme_words("2024年3月15日，你好。");
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["2024年3月15日", "，", "你好", "。"]);
        assert!(words[0].phonemes.starts_with("ɚ↘li↗ŋɚ↘ sɨ↘njɛ↗n"), "{}", words[0].phonemes);
    }

    #[test]
    fn latin_words_are_read_in_english_and_long_digit_runs_digit_by_digit() {
        let g2p = Mandarin::new().unwrap();
        let words = g2p.phoneme_words("我喜欢用Python编程。");
        let python = words.iter().find(|w| w.text == "Python").unwrap();
        assert!(python.phonemes.contains('θ'), "{}", python.phonemes);
        assert!(words.iter().filter(|w| w.is_word()).all(|w| !w.ids.is_empty()));
        let long = g2p.phoneme_words("号码12345678901234567890。");
        let digits = long.iter().find(|w| w.text.contains("12345678901234567890")).unwrap();
        assert!(digits.phonemes.starts_with("xau↘ma↓") || digits.phonemes.starts_with("i→"), "{}", digits.phonemes);
        assert!(digits.phonemes.ends_with("ʨjou↓ li↗ŋ") || digits.phonemes.ends_with("li↗ŋ"), "{}", digits.phonemes);
    }
}
