#!/usr/bin/env python3
"""Regenerates fixtures/phonemes/*.tsv: text<TAB>phonemes from upstream misaki's EspeakG2P, the
G2P Kokoro-82M v1.0 was trained with for e/f/h/i/p voices, and its ZHG2P (version None, the legacy
path Kokoro-82M v1.0 uses) for z voices, and its JAG2P (the cutlet version: MeCab through fugashi
with unidic-lite 1.0.8) for j voices. tests/phonemes.rs compares audiobook's phonemizers with
these lines.

Run once, in a venv outside the repo:
    python3 -m venv ~/.cache/audiobook/tools/g2p-venv
    ~/.cache/audiobook/tools/g2p-venv/bin/pip install misaki==0.9.4 phonemizer-fork==3.3.2 espeakng-loader==0.2.4 \
        jieba==0.42.1 pypinyin==0.55.0 cn2an==0.5.24 ordered-set
    ~/.cache/audiobook/tools/g2p-venv/bin/pip install fugashi jaconv mojimoji unidic-lite==1.0.8 pyopenjtalk
    ~/.cache/audiobook/tools/g2p-venv/bin/python tools/phoneme_fixtures.py
"""
from pathlib import Path

from misaki.espeak import EspeakG2P
from misaki.zh import ZHG2P

SENTENCES = {
    # prefix: (espeak voice, sentences)
    "es": ("es", [
        "Hola, ¿cómo estás? Muy bien, gracias.",
        "¡Qué día tan bonito hace hoy en Madrid!",
        "El señor García compró 25 manzanas y 3 peras (todas rojas).",
        "«Todo es mío», dijo el niño; después se fue a dormir.",
        "La ciudad, que tenía unos cien mil habitantes, estaba en silencio.",
    ]),
    "fr": ("fr-fr", [
        "Bonjour, comment allez-vous aujourd'hui ?",
        "Il était une fois un roi qui avait trois filles.",
        "J'ai acheté 12 croissants et une baguette à la boulangerie.",
        "« Non ! » s'écria-t-elle, (très en colère).",
        "Les enfants jouaient dans le jardin pendant que leurs parents parlaient.",
    ]),
    "hi": ("hi", [
        "नमस्ते, आप कैसे हैं?",
        "मैं आज बाज़ार जा रहा हूँ।",
        "भारत एक विशाल देश है, जिसमें कई भाषाएँ बोली जाती हैं।",
        "उसने 5 किताबें खरीदीं।",
        "क्या तुम मेरे साथ चलोगे?",
    ]),
    "it": ("it", [
        "Buongiorno, come stai oggi?",
        "C'era una volta un re che aveva tre figlie.",
        "Ho comprato 7 mele e una bottiglia d'acqua (fresca).",
        "Nel mezzo del cammin di nostra vita mi ritrovai per una selva oscura.",
        "«Andiamo!» disse lui; e partirono subito.",
    ]),
    "pt": ("pt-br", [
        "Olá, tudo bem com você?",
        "O menino correu até a praia para ver o mar.",
        "Comprei 15 laranjas e duas maçãs (bem maduras).",
        "«Não sei», respondeu ela; depois ficou em silêncio.",
        "São Paulo é a maior cidade do Brasil.",
    ]),
}

# Mandarin, through misaki's ZHG2P (cn2an numbers, punctuation mapping, jieba, pypinyin, IPA).
ZH_SENTENCES = [
    "你好，世界。",
    "我们今天去银行取钱，然后一起吃午饭。",
    "他长大以后成了一名医生，工作很重要。",
    "2024年3月15日，气温是39℃，湿度80%。",
    "这本书一共有365页，我已经读了1/2。",
    "《红楼梦》是中国古代四大名著之一！",
    "你觉得这个问题怎么样？我们再讨论一下吧；明天见。",
    "小明买了3.5斤苹果，花了12块钱。",
]


# Japanese: misaki's JAG2P (cutlet), Kokoro v1.0's. The last sentence has ASCII letters, which misaki
# passes through raw; tests/phonemes.rs compares it in that mode (audiobook reads them in English).
JAPANESE = [
    "電車は八時に駅を出発し、昼過ぎに東京に着いた。",
    "こんにちは、お元気ですか？",
    "「ちょっと待って！」と彼女は叫んだ。",
    "私は毎朝コーヒーを一杯飲みます。",
    "この本は2024年に出版され、1500部売れました。",
    "きっと明日は晴れるでしょう。",
    "東京タワーの高さは３３３メートルです。",
    "ヴァイオリンの音が静かな部屋に響いた（とても美しかった）。",
    "新しい本を読んで、とても面白いと思いました。",
    "ｶﾀｶﾅとﾊﾞｲｵﾘﾝ。",
    "３〜５人が来た。時々、人々は山々を見る。",
    "2024年1月1日、元日。【重要】お知らせ《本日》",
    "彼はAIの研究をしています。",
]


def main():
    out = Path(__file__).resolve().parent.parent / "fixtures" / "phonemes"
    out.mkdir(parents=True, exist_ok=True)
    for prefix, (voice, sentences) in SENTENCES.items():
        g2p = EspeakG2P(language=voice)
        lines = []
        for text in sentences:
            phonemes, _ = g2p(text)
            lines.append(f"{text}\t{phonemes}\n")
        (out / f"{prefix}.tsv").write_text("".join(lines), encoding="utf-8")
        print(f"{prefix}: {len(lines)} sentences")
    g2p = ZHG2P()
    lines = [f"{text}\t{g2p(text)[0]}\n" for text in ZH_SENTENCES]
    (out / "zh.tsv").write_text("".join(lines), encoding="utf-8")
    print(f"zh: {len(lines)} sentences")
    from misaki.ja import JAG2P

    g2p = JAG2P()
    lines = [f"{text}\t{g2p(text)[0]}\n" for text in JAPANESE]
    (out / "ja.tsv").write_text("".join(lines), encoding="utf-8")
    print(f"ja: {len(lines)} sentences")


if __name__ == "__main__":
    main()
