#!/usr/bin/env python3
"""Generates Tests/Fixtures/differential_goldens.json with Hugging Face tokenizers 0.21.4.

Not needed to build or test the package; kept so the fixture can be regenerated:
    python3 -m venv venv && venv/bin/pip install tokenizers==0.21.4
    venv/bin/python Tools/make_differential_goldens.py

With `fuzz SEED COUNT OUT.json` it instead writes COUNT fresh random and mark-heavy cases as a
bare list, for ad-hoc fuzzing in the same format.

Part 1 ("random") fuzzes the real Qwen2 tokenizer with strings assembled from fragments that
stress the pre-tokenizer regex, NFC and added-token splitting. Part 2 ("flags") builds a
variant of the tiny tokenizer whose added tokens use lstrip / rstrip / single_word /
normalized, which the shipped tokenizers never do.
"""
import json
import random
import pathlib
import unicodedata

from tokenizers import Tokenizer, __version__

ROOT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures"

FRAGMENTS = [
    # ASCII words, digits, punctuation, whitespace
    "hello", "World", "HTTP", "x", "a", " ", "  ", "   ", "\t", "\n", "\r", "\r\n", "\n\n", "\x0b", "\x0c",
    "0", "42", "3.14", "1,000", "-", "--", "...", "!", "?!", ",", ";", "(", ")", "{", "}", "=>", "#", "@", "$", "%",
    "\"", "`", "_", "__init__", "/", "\\", "|", "<", ">", "<<", "=",
    # contractions and their near misses
    "'", "''", "'s", "'S", "'t", "'re", "'RE", "'rE", "'ve", "'m", "'ll", "'LL", "'lL", "'d", "'D", "'r", "'l",
    "'x", "'ſ", "ſ", "K", "'K", "’s", "don't", "I'M", "y'all",
    # Unicode whitespace (and look-alikes that are not White_Space)
    "\u00a0", "\u1680", "\u2000", "\u2003", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000",
    "\u0085", "\u180e", "\u200b", "\u2060", "\ufeff",
    # letters of many scripts, modifier and titlecase letters
    "é", "ß", "Ä", "Привет", "мир", "Ελληνικά", "中文", "你好", "世界", "こんにちは", "カタカナ", "ｶﾀｶﾅ", "한국어",
    "مرحبا", "שלום", "नमस्ते", "हिन्दी", "สวัสดี", "ʰ", "ǅ", "ª", "ꓸ",
    # numbers beyond ASCII digits
    "²", "½", "Ⅻ", "ⅷ", "٣٤", "४२", "２０２５", "①", "𝟘", "𒐫",
    # combining marks and decomposed forms (NFC changes these)
    "e\u0301", "\u0301", "\u0308", "a\u0308\u0301", "\u0327", "x\u0301\u0301", "\u093f", "\u3099", "か\u3099",
    "\u1100\u1161\u11a8", "\u1100\u1161", "\u11a8", "A\u030a", "\u212b", "\u2126", "\ufb01", "\u0958",
    # emoji: ZWJ sequences, modifiers, flags, keycaps, variation selectors
    "😀", "👍🏽", "👨\u200d👩\u200d👧", "🏳️\u200d🌈", "🇨🇳", "1️⃣", "❤️", "\ufe0f", "\u200d", "🦙", "🫠",
    # controls, private use, noncharacters, the replacement character
    "\x00", "\x07", "\x1b", "\x7f", "\ue000", "\uffff", "\U0010ffff", "\ufffd", "\U000e0041",
    # added tokens and fragments of them
    "<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|empty|>", "<|eot|>", "<tool_call>", "</tool_call>",
    "<|im_start", "|>", "<|", "<|IM_END|>", "<think>",
]


# Regressions found by fuzzing: Foundation's NFC on Linux gets the first two wrong, the
# standard library's the third; Hugging Face's NFC knows only Unicode 9.0 marks (U+1DF8 is
# 10.0) and its regex only Unicode 16.0 letters (U+088F, U+A7CE are 17.0).
NORMALIZATION_REGRESSIONS = [
    "\U000E0041\u0308=", "\uC5B4\u11A8", "\uAC00\u11A8", "\u3000\u0306\u0F73", "a\u0306\u0F75\u0F81",
    "\u288E\u1DF8\u0312", "x\u0315\u1AC4", "a\u088Fb", "\uA7CE\uA7CF", "\U00011935\U00011930",
]


def mark_heavy_text(rng: random.Random, pools) -> str:
    marks, decomposable, bases, jamo, tibetan = pools

    def pick() -> int:
        r = rng.random()
        if r < 0.35: return rng.choice(marks)
        if r < 0.55: return rng.choice(decomposable)
        if r < 0.70: return rng.choice(bases)
        if r < 0.80: return rng.choice(jamo)
        if r < 0.88: return rng.choice(tibetan)
        return rng.choice([0x20, 0x61, 0x41, 0x27, 0x31, 0x3000, 0x4E00, 0x1F600])

    return "".join(chr(pick()) for _ in range(rng.randint(1, 25)))


def mark_pools():
    code_points = [cp for cp in range(0x110000) if not 0xD800 <= cp <= 0xDFFF]
    marks = [cp for cp in code_points if unicodedata.combining(chr(cp))]
    canonical = [cp for cp in code_points
                 if unicodedata.decomposition(chr(cp)) and not unicodedata.decomposition(chr(cp)).startswith("<")]
    bases = sorted({int(unicodedata.decomposition(chr(cp)).split()[0], 16) for cp in canonical})
    jamo = list(range(0x1100, 0x1113)) + list(range(0x1161, 0x1176)) + list(range(0x11A8, 0x11C3)) \
        + [0xAC00, 0xAC1C, 0xC5B4, 0xD7A3, 0xD788]
    tibetan = list(range(0xF71, 0xF85))
    return marks, canonical, bases, jamo, tibetan


def random_text(rng: random.Random) -> str:
    count = rng.randint(1, 24)
    return "".join(rng.choice(FRAGMENTS) for _ in range(count))


# Appended to the tiny tokenizer's added_tokens. The written ids are what a careless writer
# might put; Hugging Face reassigns them ("Å" is already vocabulary entry 197, so "<|im" gets
# 995, not 996), which the Swift tests check.
EXTRA_ADDED_TOKENS = [
    {"id": 990, "content": "<L>", "lstrip": True, "rstrip": False, "single_word": False, "normalized": False, "special": True},
    {"id": 991, "content": "<R>", "lstrip": False, "rstrip": True, "single_word": False, "normalized": False, "special": True},
    {"id": 992, "content": "<LR>", "lstrip": True, "rstrip": True, "single_word": False, "normalized": False, "special": False},
    {"id": 993, "content": "word", "lstrip": False, "rstrip": False, "single_word": True, "normalized": False, "special": False},
    {"id": 994, "content": "café", "lstrip": False, "rstrip": False, "single_word": False, "normalized": True, "special": False},
    {"id": 995, "content": "Å", "lstrip": False, "rstrip": False, "single_word": False, "normalized": True, "special": True},
    {"id": 996, "content": "<|im", "lstrip": False, "rstrip": False, "single_word": False, "normalized": False, "special": False},
]


def flags_tokenizer() -> Tokenizer:
    spec = json.loads((ROOT / "lm" / "tokenizer.json").read_text(encoding="utf-8"))
    spec["added_tokens"].extend(EXTRA_ADDED_TOKENS)
    return Tokenizer.from_str(json.dumps(spec))


FLAG_FRAGMENTS = [
    "<L>", "<R>", "<LR>", "word", "words", "sword", "café", "cafe\u0301", "Å", "A\u030a", "\u212b", "<|im", "<|im_end|>",
    "<|im_start|>", " ", "  ", "\t", "\n", "\u3000", "x", "hello", "1", ".", "é", "<",
]


def main() -> None:
    rng = random.Random(20250101)
    real = Tokenizer.from_file(str(ROOT / "text-tokenizer" / "tokenizer.json"))
    cases = []
    seen = set()
    while len(cases) < 3000:
        text = random_text(rng)
        if text in seen:
            continue
        seen.add(text)
        ids = real.encode(text, add_special_tokens=False).ids
        cases.append({"text": text, "ids": ids,
                      "decoded": real.decode(ids, skip_special_tokens=False),
                      "decoded_skipping_special": real.decode(ids, skip_special_tokens=True)})

    def case(tokenizer: Tokenizer, text: str) -> dict:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        return {"text": text, "ids": ids, "decoded": tokenizer.decode(ids, skip_special_tokens=False),
                "decoded_skipping_special": tokenizer.decode(ids, skip_special_tokens=True)}

    nrng = random.Random(99)
    pools = mark_pools()
    normalization = [case(real, text) for text in NORMALIZATION_REGRESSIONS]
    while len(normalization) < 1000:
        normalization.append(case(real, mark_heavy_text(nrng, pools)))

    flagged = flags_tokenizer()
    frng = random.Random(7)
    flag_cases = []
    for fragments in [["<L>"], [" <L>"], ["x  <L>"], ["<R>  x"], ["a <LR> b"], ["word"], [" word "], ["swords"],
                      ["word1"], ["café"], ["cafe\u0301"], ["\u212b"]]:
        text = "".join(fragments)
        ids = flagged.encode(text, add_special_tokens=False).ids
        flag_cases.append({"text": text, "ids": ids, "decoded": flagged.decode(ids, skip_special_tokens=False),
                           "decoded_skipping_special": flagged.decode(ids, skip_special_tokens=True)})
    while len(flag_cases) < 400:
        text = "".join(frng.choice(FLAG_FRAGMENTS) for _ in range(frng.randint(1, 10)))
        ids = flagged.encode(text, add_special_tokens=False).ids
        flag_cases.append({"text": text, "ids": ids, "decoded": flagged.decode(ids, skip_special_tokens=False),
                           "decoded_skipping_special": flagged.decode(ids, skip_special_tokens=True)})

    out = {
        "description": "Differential goldens from Hugging Face tokenizers; see Tools/make_differential_goldens.py.",
        "tokenizers_version": __version__,
        "random": cases,
        "normalization": normalization,
        "flags_added_tokens": EXTRA_ADDED_TOKENS,
        "flags_ids_as_registered": {t["content"]: flagged.token_to_id(t["content"]) for t in EXTRA_ADDED_TOKENS},
        "flags": flag_cases,
    }
    (ROOT / "differential_goldens.json").write_text(json.dumps(out, ensure_ascii=False, indent=0), encoding="utf-8")
    print(len(cases), len(flag_cases))


WHITESPACE = [0x9, 0xA, 0xB, 0xC, 0xD, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2005, 0x200A, 0x2028, 0x2029, 0x202F,
              0x205F, 0x3000, 0x200B, 0x180E]


def code_point_text(rng: random.Random) -> str:
    """Random code points, weighted towards ASCII, marks, CJK, Hangul, whitespace and emoji."""
    def pick() -> int:
        r = rng.random()
        if r < 0.35: return rng.randint(0x20, 0x7E)
        if r < 0.40: return rng.randint(0, 0x1F)
        if r < 0.50: return rng.randint(0x80, 0x24F)
        if r < 0.58: return rng.randint(0x300, 0x36F)
        if r < 0.63: return rng.randint(0x4E00, 0x9FFF)
        if r < 0.68: return rng.choice([rng.randint(0x1100, 0x11FF), rng.randint(0xAC00, 0xD7A3)])
        if r < 0.78: return rng.choice(WHITESPACE)
        if r < 0.83: return rng.randint(0x1F300, 0x1FAFF)
        if r < 0.86: return ord("'")
        if r < 0.95: return rng.randint(0x370, 0x2FFF)
        while True:
            cp = rng.randint(0, 0x10FFFF)
            if not 0xD800 <= cp <= 0xDFFF:
                return cp

    return "".join(chr(pick()) for _ in range(rng.randint(1, 40)))


def fuzz(seed: int, count: int, out: str) -> None:
    rng = random.Random(seed)
    real = Tokenizer.from_file(str(ROOT / "text-tokenizer" / "tokenizer.json"))
    pools = mark_pools()
    cases = []
    for index in range(count):
        kind = index % 3
        text = mark_heavy_text(rng, pools) if kind == 0 else code_point_text(rng) if kind == 1 else random_text(rng)
        ids = real.encode(text, add_special_tokens=False).ids
        cases.append({"text": text, "ids": ids, "decoded": real.decode(ids, skip_special_tokens=False),
                      "decoded_skipping_special": real.decode(ids, skip_special_tokens=True)})
    pathlib.Path(out).write_text(json.dumps(cases, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    import sys
    if len(sys.argv) == 5 and sys.argv[1] == "fuzz":
        fuzz(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        main()
