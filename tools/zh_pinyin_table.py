#!/usr/bin/env python3
"""Regenerates src/phonemize/zh_pinyin.txt.gz, the Mandarin reading table of audiobook's zh G2P, from
pypinyin 0.55.0's data (MIT) and misaki 0.9.4's pinyin_to_ipa + retone (transcription.py, MIT).

Three sections, separated by a line `--`:
1. syllables: `zhong1<TAB>ʈʂʊŋ→` (TONE3 pinyin, neutral tone 5, as lazy_pinyin gives it, and the IPA
   misaki's ZHG2P.py2ipa gives it, with U+032F removed as legacy_call does; empty when misaki fails);
2. characters: `中<TAB>zhong1` (the first reading pypinyin gives a character alone);
3. phrases: `中国` (pypinyin's phrase dictionary, which also drives its forward maximum matching) or
   `长大<TAB>zhang3 da4` where the phrase reads otherwise than its characters alone.

    ~/.cache/audiobook/tools/g2p-venv/bin/pip install misaki==0.9.4 jieba pypinyin==0.55.0 cn2an
    ~/.cache/audiobook/tools/g2p-venv/bin/python tools/zh_pinyin_table.py
"""
import gzip
from pathlib import Path

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT
from pypinyin.converter import UltimateConverter

from misaki.zh import ZHG2P

CONVERTER = UltimateConverter(neutral_tone_with_five=True)


def tone3(han, orig):
    return CONVERTER.convert_style(han, orig_pinyin=orig, style=Style.TONE3, strict=True)


def main():
    chars = {}
    for num, readings in sorted(PINYIN_DICT.items()):
        han = chr(num)
        chars[han] = tone3(han, readings.split(",")[0])
    phrases = {}
    for phrase, readings in sorted(PHRASES_DICT.items()):
        pys = [tone3(han, r[0]) for han, r in zip(phrase, readings)]
        assert pys == lazy_pinyin(phrase, style=Style.TONE3, neutral_tone_with_five=True), phrase
        phrases[phrase] = pys
    syllables = sorted(set(chars.values()) | {p for pys in phrases.values() for p in pys})
    lines = []
    for s in syllables:
        try:
            ipa = ZHG2P.py2ipa(s).replace(chr(815), "")
        except Exception:  # misaki raises on a few rare syllables
            ipa = ""
        lines.append(f"{s}\t{ipa}")
    lines.append("--")
    lines.extend(f"{han}\t{py}" for han, py in chars.items())
    lines.append("--")
    for phrase, pys in phrases.items():
        alone = [chars.get(han) for han in phrase]
        lines.append(phrase if pys == alone else f"{phrase}\t{' '.join(pys)}")
    out = Path(__file__).resolve().parent.parent / "src" / "phonemize" / "zh_pinyin.txt.gz"
    out.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0))
    print(f"{len(syllables)} syllables, {len(chars)} characters, {len(phrases)} phrases -> {out}")


if __name__ == "__main__":
    main()
