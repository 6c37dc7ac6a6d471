"""Vietnamese text normalisation: NFC, tone placement, case, slugs."""

from __future__ import annotations

import re
import unicodedata

# The five tone marks as combining characters; every other diacritic (ă â ê ô ơ ư đ) is part of the letter.
_TONE_MARKS = {"\u0300": "2", "\u0301": "1", "\u0309": "3", "\u0303": "4", "\u0323": "5"}
_SPACE = re.compile(r"\s+")


def nfc(text: str) -> str:
    """Unicode NFC with surrounding and repeated white space folded."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def _fold_word(word: str) -> str:
    # Old and new tone placement (hoá / hóa, thuỷ / thủy) differ only in which vowel carries
    # the mark; a word is the same word when its letters and its one tone are the same.
    tone = ""
    letters = []
    for ch in unicodedata.normalize("NFD", word):
        if ch in _TONE_MARKS:
            tone = _TONE_MARKS[ch]
        else:
            letters.append(ch)
    base = unicodedata.normalize("NFC", "".join(letters))
    return base + tone


def fold(text: str) -> str:
    """A key for matching Vietnamese names: NFC, lower case, tone placement ignored, spaces folded."""
    return " ".join(_fold_word(w) for w in nfc(text).lower().split(" ") if w)


def ascii_slug(text: str) -> str:
    """`Xã Tả Lèng` -> `xa-ta-leng`: safe in a Windows file name."""
    decomposed = unicodedata.normalize("NFD", nfc(text).replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
