//! misaki's kana tables (`misaki/cutlet.py`, adapted from cutlet, MIT) and its number reader
//! (`misaki/num2kana.py`, from Convert-Numbers-to-Japanese, MIT), ported as they are.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Kana (one, or two for a digraph) and Japanese punctuation -> misaki's IPA-like symbols.
const HEPBURN: &[(&str, &str)] = &[
    ("ぁ", "a"),
    ("あ", "a"),
    ("ぃ", "i"),
    ("い", "i"),
    ("ぅ", "ɯ"),
    ("う", "ɯ"),
    ("ぇ", "e"),
    ("え", "e"),
    ("ぉ", "o"),
    ("お", "o"),
    ("か", "ka"),
    ("が", "ɡa"),
    ("き", "kʲi"),
    ("ぎ", "ɡʲi"),
    ("く", "kɯ"),
    ("ぐ", "ɡɯ"),
    ("け", "ke"),
    ("げ", "ɡe"),
    ("こ", "ko"),
    ("ご", "ɡo"),
    ("さ", "sa"),
    ("ざ", "ʣa"),
    ("し", "ɕi"),
    ("じ", "ʥi"),
    ("す", "sɨ"),
    ("ず", "zɨ"),
    ("せ", "se"),
    ("ぜ", "ʣe"),
    ("そ", "so"),
    ("ぞ", "ʣo"),
    ("た", "ta"),
    ("だ", "da"),
    ("ち", "ʨi"),
    ("ぢ", "ʥi"),
    ("つ", "ʦɨ"),
    ("づ", "zɨ"),
    ("て", "te"),
    ("で", "de"),
    ("と", "to"),
    ("ど", "do"),
    ("な", "na"),
    ("に", "ɲi"),
    ("ぬ", "nɯ"),
    ("ね", "ne"),
    ("の", "no"),
    ("は", "ha"),
    ("ば", "ba"),
    ("ぱ", "pa"),
    ("ひ", "çi"),
    ("び", "bʲi"),
    ("ぴ", "pʲi"),
    ("ふ", "ɸɯ"),
    ("ぶ", "bɯ"),
    ("ぷ", "pɯ"),
    ("へ", "he"),
    ("べ", "be"),
    ("ぺ", "pe"),
    ("ほ", "ho"),
    ("ぼ", "bo"),
    ("ぽ", "po"),
    ("ま", "ma"),
    ("み", "mʲi"),
    ("む", "mɯ"),
    ("め", "me"),
    ("も", "mo"),
    ("ゃ", "ja"),
    ("や", "ja"),
    ("ゅ", "jɯ"),
    ("ゆ", "jɯ"),
    ("ょ", "jo"),
    ("よ", "jo"),
    ("ら", "ɾa"),
    ("り", "ɾʲi"),
    ("る", "ɾɯ"),
    ("れ", "ɾe"),
    ("ろ", "ɾo"),
    ("ゎ", "βa"),
    ("わ", "βa"),
    ("ゐ", "i"),
    ("ゑ", "e"),
    ("を", "o"),
    ("ゔ", "vɯ"),
    ("ゕ", "ka"),
    ("ゖ", "ke"),
    ("ヷ", "va"),
    ("ヸ", "vʲi"),
    ("ヹ", "ve"),
    ("ヺ", "vo"),
    ("いぇ", "je"),
    ("うぃ", "βi"),
    ("うぇ", "βe"),
    ("うぉ", "βo"),
    ("きぇ", "kʲe"),
    ("きゃ", "kʲa"),
    ("きゅ", "kʲɨ"),
    ("きょ", "kʲo"),
    ("ぎゃ", "ɡʲa"),
    ("ぎゅ", "ɡʲɨ"),
    ("ぎょ", "ɡʲo"),
    ("くぁ", "kᵝa"),
    ("くぃ", "kᵝi"),
    ("くぇ", "kᵝe"),
    ("くぉ", "kᵝo"),
    ("ぐぁ", "ɡᵝa"),
    ("ぐぃ", "ɡᵝi"),
    ("ぐぇ", "ɡᵝe"),
    ("ぐぉ", "ɡᵝo"),
    ("しぇ", "ɕe"),
    ("しゃ", "ɕa"),
    ("しゅ", "ɕɨ"),
    ("しょ", "ɕo"),
    ("じぇ", "ʥe"),
    ("じゃ", "ʥa"),
    ("じゅ", "ʥɨ"),
    ("じょ", "ʥo"),
    ("ちぇ", "ʨe"),
    ("ちゃ", "ʨa"),
    ("ちゅ", "ʨɨ"),
    ("ちょ", "ʨo"),
    ("ぢゃ", "ʥa"),
    ("ぢゅ", "ʥɨ"),
    ("ぢょ", "ʥo"),
    ("つぁ", "ʦa"),
    ("つぃ", "ʦʲi"),
    ("つぇ", "ʦe"),
    ("つぉ", "ʦo"),
    ("てぃ", "tʲi"),
    ("てゅ", "tʲɨ"),
    ("でぃ", "dʲi"),
    ("でゅ", "dʲɨ"),
    ("とぅ", "tɯ"),
    ("どぅ", "dɯ"),
    ("にぇ", "ɲe"),
    ("にゃ", "ɲa"),
    ("にゅ", "ɲɨ"),
    ("にょ", "ɲo"),
    ("ひぇ", "çe"),
    ("ひゃ", "ça"),
    ("ひゅ", "çɨ"),
    ("ひょ", "ço"),
    ("びゃ", "bʲa"),
    ("びゅ", "bʲɨ"),
    ("びょ", "bʲo"),
    ("ぴゃ", "pʲa"),
    ("ぴゅ", "pʲɨ"),
    ("ぴょ", "pʲo"),
    ("ふぁ", "ɸa"),
    ("ふぃ", "ɸʲi"),
    ("ふぇ", "ɸe"),
    ("ふぉ", "ɸo"),
    ("ふゅ", "ɸʲɨ"),
    ("ふょ", "ɸʲo"),
    ("みゃ", "mʲa"),
    ("みゅ", "mʲɨ"),
    ("みょ", "mʲo"),
    ("りゃ", "ɾʲa"),
    ("りゅ", "ɾʲɨ"),
    ("りょ", "ɾʲo"),
    ("ゔぁ", "va"),
    ("ゔぃ", "vʲi"),
    ("ゔぇ", "ve"),
    ("ゔぉ", "vo"),
    ("ゔゅ", "bʲɨ"),
    ("ゔょ", "bʲo"),
    ("。", "."),
    ("、", ","),
    ("？", "?"),
    ("！", "!"),
    ("「", "\u{201C}"),
    ("」", "\u{201D}"),
    ("『", "\u{201C}"),
    ("』", "\u{201D}"),
    ("：", ":"),
    ("；", ";"),
    ("（", "("),
    ("）", ")"),
    ("《", "("),
    ("》", ")"),
    ("【", "["),
    ("】", "]"),
    ("・", " "),
    ("，", ","),
    ("～", "—"),
    ("〜", "—"),
    ("—", "—"),
    ("«", "\u{201C}"),
    ("»", "\u{201D}"),
    ("\u{309A}", ""),
    ("\u{3099}", ""),
];

/// The table, by key.
pub fn table() -> &'static HashMap<&'static str, &'static str> {
    static TABLE: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    TABLE.get_or_init(|| HEPBURN.iter().copied().collect())
}

fn get(key: &str) -> Option<&'static str> {
    table().get(key).copied()
}

/// Small kana that combine with the one before.
const SUTEGANA: &str = "ゃゅょぁぃぅぇぉ";
/// Iteration marks.
const ODORI: &str = "〃々ゝゞヽ";

fn add_dakuten(kana: char) -> Option<char> {
    let plain: Vec<char> = "かきくけこさしすせそたちつてとはひふへほ".chars().collect();
    let voiced: Vec<char> = "がぎぐげござじずぜぞだぢづでどばびぶべぼ".chars().collect();
    plain.iter().position(|&c| c == kana).map(|i| voiced[i])
}

/// cutlet's `_get_single_mapping`: one kana with its neighbours to symbols.
fn single_mapping(pk: Option<char>, kk: char, nk: Option<char>) -> String {
    let key = |a: char, b: char| format!("{a}{b}");
    if ODORI.contains(kk) {
        if matches!(kk, 'ゝ' | 'ヽ') {
            return pk.map(String::from).unwrap_or_default();
        }
        if matches!(kk, 'ゞ' | 'ヾ') {
            let Some(pk) = pk else { return String::new() };
            return add_dakuten(pk).and_then(|v| get(&v.to_string())).unwrap_or_default().to_string();
        }
        return String::new();
    }
    if let Some(pk) = pk
        && let Some(s) = get(&key(pk, kk))
    {
        return s.to_string();
    }
    if let Some(nk) = nk
        && get(&key(kk, nk)).is_some()
    {
        return String::new();
    }
    if let Some(nk) = nk
        && SUTEGANA.contains(nk)
    {
        if kk == 'っ' {
            return String::new();
        }
        // Python: self.table[kk][:-1] + self.table[nk] (a KeyError upstream when kk has none).
        let base = get(&kk.to_string()).unwrap_or_default();
        let mut chars: Vec<char> = base.chars().collect();
        chars.pop();
        let mut out: String = chars.into_iter().collect();
        out.push_str(get(&nk.to_string()).unwrap_or_default());
        return out;
    }
    if SUTEGANA.contains(kk) {
        return String::new();
    }
    if kk == 'ー' {
        return "ː".into();
    }
    if kk == 'っ' {
        return "ʔ".into();
    }
    if kk == 'ん' {
        if let Some(next) = nk.and_then(|nk| get(&nk.to_string())) {
            let first = next.chars().next();
            if matches!(first, Some('m' | 'p' | 'b')) {
                return "m".into();
            } else if matches!(first, Some('k' | 'ɡ')) {
                return "ŋ".into();
            } else if ["ɲ", "ʨ", "ʥ"].iter().any(|p| next.starts_with(p)) {
                return "ɲ".into();
            } else if matches!(first, Some('n' | 't' | 'd' | 'ɾ' | 'z')) {
                return "n".into();
            }
        }
        return "ɴ".into();
    }
    get(&kk.to_string()).unwrap_or_default().to_string()
}

/// The symbols of a word's hiragana reading, kana by kana.
pub fn kana_to_ipa(hira: &str) -> String {
    let chars: Vec<char> = hira.chars().collect();
    let mut out = String::new();
    for (i, &kk) in chars.iter().enumerate() {
        let pk = if i > 0 { Some(chars[i - 1]) } else { None };
        out.push_str(&single_mapping(pk, kk, chars.get(i + 1).copied()));
    }
    out
}

/// Each character of a symbol word through the table (unknown ones kept), as cutlet does.
pub fn symbols(surface: &str) -> String {
    surface.chars().map(|c| get(&c.to_string()).map_or_else(|| c.to_string(), str::to_string)).collect()
}

/// jaconv's `kata2hira`: full-width katakana to hiragana.
pub fn kata2hira(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{30A1}'..='\u{30F6}' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            'ヽ' => 'ゝ',
            'ヾ' => 'ゞ',
            c => c,
        })
        .collect()
}

/// Small katakana of the phonetic extensions block to full size (cutlet's first step).
pub fn full_size_katakana(c: char) -> char {
    const SMALL: &str = "ㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ";
    const FULL: &str = "クシストヌハヒフヘホムラリルレロ";
    SMALL.chars().position(|s| s == c).and_then(|i| FULL.chars().nth(i)).unwrap_or(c)
}

const DIGITS: [&str; 10] = ["ゼロ", "いち", "に", "さん", "よん", "ご", "ろく", "なな", "はち", "きゅう"];

fn one(d: u8) -> &'static str {
    DIGITS[usize::from(d)]
}

fn len_two(n: &[u8]) -> String {
    if n[0] == 0 {
        return one(n[1]).into();
    }
    if n == [1, 0] {
        return "じゅう".into();
    }
    if n[0] == 1 {
        return format!("じゅう{}", one(n[1]));
    }
    if n[1] == 0 {
        return format!("{}じゅう", one(n[0]));
    }
    format!("{}じゅう{}", one(n[0]), one(n[1]))
}

fn len_three(n: &[u8]) -> String {
    let mut out = String::from(match n[0] {
        1 => "ひゃく",
        3 => "さんびゃく",
        6 => "ろっぴゃく",
        8 => "はっぴゃく",
        d => return format!("{}ひゃく{}", one(d), three_rest(n)),
    });
    out.push_str(&three_rest(n));
    out
}

fn three_rest(n: &[u8]) -> String {
    if n[1..] == [0, 0] {
        String::new()
    } else if n[1] == 0 {
        one(n[2]).into()
    } else {
        len_two(&n[1..])
    }
}

fn len_four(n: &[u8], stand_alone: bool) -> String {
    if n == [0, 0, 0, 0] {
        return String::new();
    }
    let start = n.iter().position(|&d| d != 0).unwrap_or(n.len() - 1);
    let n = &n[start..];
    match n.len() {
        1 => return one(n[0]).into(),
        2 => return len_two(n),
        3 => return len_three(n),
        _ => {}
    }
    let mut out = String::from(match n[0] {
        1 if stand_alone => "せん",
        1 => "いっせん",
        3 => "さんぜん",
        8 => "はっせん",
        d => return format!("{}せん{}", one(d), four_rest(n)),
    });
    out.push_str(&four_rest(n));
    out
}

fn four_rest(n: &[u8]) -> String {
    if n[1..] == [0, 0, 0] {
        String::new()
    } else if n[1] == 0 {
        len_two(&n[2..])
    } else {
        len_three(&n[1..])
    }
}

fn len_x(n: &[u8]) -> String {
    let head = &n[..n.len() - 4];
    let mut out = match head.len() {
        1 => format!("{}まん", one(head[0])),
        2 => format!("{}まん", len_two(head)),
        3 => format!("{}まん", len_three(head)),
        4 => format!("{}まん", len_four(head, false)),
        _ => {
            let mut s = format!("{}おく{}", one(n[0]), len_four(&n[1..5], false));
            if n[1..5] != [0, 0, 0, 0] {
                s.push_str("まん");
            }
            s
        }
    };
    out.push_str(&len_four(&n[n.len() - 4..], false));
    out
}

/// num2kana's `Convert` in hiragana for a run of ASCII digits. Upstream gives up past nine
/// digits (it returns an English sentence, which is then read aloud); here such a run is read
/// digit by digit instead.
pub fn number(digits: &str) -> String {
    let mut n: Vec<u8> = digits.bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    if n.is_empty() {
        return String::new();
    }
    if n.len() > 9 {
        return n.iter().map(|&d| one(d)).collect();
    }
    while n.len() > 1 && n[0] == 0 {
        n.remove(0);
    }
    match n.len() {
        1 => one(n[0]).into(),
        2 => len_two(&n),
        3 => len_three(&n),
        4 => len_four(&n, true),
        _ => len_x(&n),
    }
}

/// MeCab's character category (UniDic's `char.def`, as unidic-lite 1.0.8 compiles it) of a
/// character: 3 symbol, 6 hiragana, 7 katakana, 2 kanji, 5 Latin... (0 default).
pub fn char_category(c: char) -> u8 {
    let c = c as u32;
    CATEGORIES.iter().find(|(a, b, _)| (*a..=*b).contains(&c)).map_or(0, |&(_, _, k)| k)
}

/// (first, last, category), from unidic-lite 1.0.8 through fugashi, code point by code point.
const CATEGORIES: &[(u32, u32, u8)] = &[
    (0x0021, 0x002F, 3),
    (0x0030, 0x0039, 4),
    (0x003A, 0x0040, 3),
    (0x0041, 0x005A, 5),
    (0x005B, 0x0060, 3),
    (0x0061, 0x007A, 5),
    (0x007B, 0x007E, 3),
    (0x00A1, 0x00BF, 3),
    (0x00C0, 0x0236, 5),
    (0x0374, 0x03FB, 9),
    (0x0400, 0x04F9, 10),
    (0x0500, 0x050F, 10),
    (0x1E00, 0x1EF9, 5),
    (0x2000, 0x206F, 3),
    (0x2070, 0x209F, 4),
    (0x20A0, 0x214F, 3),
    (0x2150, 0x218F, 4),
    (0x2190, 0x23FF, 3),
    (0x2460, 0x24FF, 3),
    (0x2501, 0x26FE, 3),
    (0x2700, 0x297F, 3),
    (0x2A00, 0x2BFF, 3),
    (0x2E80, 0x2EF3, 2),
    (0x2F00, 0x2FD5, 2),
    (0x3000, 0x303F, 3),
    (0x3041, 0x309F, 6),
    (0x30A1, 0x30FF, 7),
    (0x31F0, 0x31FF, 7),
    (0x3200, 0x32FE, 3),
    (0x3300, 0x33FF, 3),
    (0x3400, 0x4DB5, 2),
    (0x4E00, 0x4E00, 8),
    (0x4E01, 0x4E02, 2),
    (0x4E03, 0x4E03, 8),
    (0x4E04, 0x4E06, 2),
    (0x4E07, 0x4E07, 8),
    (0x4E08, 0x4E08, 2),
    (0x4E09, 0x4E09, 8),
    (0x4E0A, 0x4E5C, 2),
    (0x4E5D, 0x4E5D, 8),
    (0x4E5E, 0x4E8B, 2),
    (0x4E8C, 0x4E8C, 8),
    (0x4E8D, 0x4E93, 2),
    (0x4E94, 0x4E94, 8),
    (0x4E95, 0x5103, 2),
    (0x5104, 0x5104, 8),
    (0x5105, 0x5145, 2),
    (0x5146, 0x5146, 8),
    (0x5147, 0x516A, 2),
    (0x516B, 0x516B, 8),
    (0x516C, 0x516C, 2),
    (0x516D, 0x516D, 8),
    (0x516E, 0x5340, 2),
    (0x5341, 0x5341, 8),
    (0x5342, 0x5342, 2),
    (0x5343, 0x5343, 8),
    (0x5344, 0x56DA, 2),
    (0x56DB, 0x56DB, 8),
    (0x56DC, 0x767D, 2),
    (0x767E, 0x767E, 8),
    (0x767F, 0x9FA5, 2),
    (0xF900, 0xFA2D, 2),
    (0xFA30, 0xFA6A, 2),
    (0xFE30, 0xFE6B, 3),
    (0xFF01, 0xFF0F, 3),
    (0xFF10, 0xFF19, 4),
    (0xFF1A, 0xFF20, 3),
    (0xFF21, 0xFF3A, 5),
    (0xFF3B, 0xFF40, 3),
    (0xFF41, 0xFF5A, 5),
    (0xFF5B, 0xFF65, 3),
    (0xFF66, 0xFF9F, 7),
    (0xFFE0, 0xFFEF, 3),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_num2kana_reads_them() {
        let cases = [
            ("0", "ゼロ"),
            ("7", "なな"),
            ("10", "じゅう"),
            ("15", "じゅうご"),
            ("40", "よんじゅう"),
            ("99", "きゅうじゅうきゅう"),
            ("100", "ひゃく"),
            ("305", "さんびゃくご"),
            ("1000", "せん"),
            ("1050", "せんごじゅう"),
            ("3800", "さんぜんはっぴゃく"),
            ("2024", "にせんにじゅうよん"),
            ("10000", "いちまん"),
            ("11000", "いちまんいっせん"),
            ("120000", "じゅうにまん"),
            ("100000000", "いちおく"),
            ("007", "なな"),
            ("12345678901", "いちにさんよんごろくななはちきゅうゼロいち"),
        ];
        for (digits, kana) in cases {
            assert_eq!(number(digits), kana, "{digits}");
        }
    }

    #[test]
    fn kana_map_with_digraphs_long_vowels_and_the_moraic_nasal() {
        assert_eq!(kana_to_ipa("とうきょう"), "toɯkʲoɯ");
        assert_eq!(kana_to_ipa("しんぶん"), "ɕimbɯɴ");
        assert_eq!(kana_to_ipa("らーめん"), "ɾaːmeɴ");
        assert_eq!(kana_to_ipa("きって"), "kʲiʔte");
        assert_eq!(kata2hira("ヴァイオリン"), "ゔぁいおりん");
        assert_eq!(char_category('ア'), 7);
        assert_eq!(char_category('。'), 3);
    }
}
