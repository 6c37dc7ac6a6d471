"""Vietnamese text normalisation: NFC, tone placement, case, slugs."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# The five tone marks as combining characters; every other diacritic (ă â ê ô ơ ư đ) is part of the letter.
_TONE_MARKS = {"\u0300": "2", "\u0301": "1", "\u0309": "3", "\u0303": "4", "\u0323": "5"}
_SPACE = re.compile(r"\s+")


def nfc(text: str) -> str:
    """Unicode NFC with surrounding and repeated white space folded."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


@lru_cache(maxsize=1 << 16)
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


@lru_cache(maxsize=1 << 14)
def fold(text: str) -> str:
    """A key for matching Vietnamese names: NFC, lower case, tone placement ignored, spaces folded."""
    # memoised: the same status words, unit names and remarks come back from every unit
    return " ".join(_fold_word(w) for w in nfc(text).lower().split(" ") if w)


def ascii_slug(text: str) -> str:
    """`Xã Tả Lèng` -> `xa-ta-leng`: safe in a Windows file name."""
    decomposed = unicodedata.normalize("NFD", nfc(text).replace("đ", "d").replace("Đ", "D"))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")


# C0 controls but tab, line feed and carriage return, DEL, and the two non-characters XML refuses:
# what a Word paste (U+000B), a USB stick's file name (ESC, BEL) or a damaged file brings in, and
# what openpyxl, python-docx and every XML writer refuse to write.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")
_CONTROL_MAP = {"\x0b": "\n", "\x0c": "\n"}   # Word's manual line break and page break
# the same as bytes (and tab, made a space), for a C-speed test of a whole sheet's text encoded
CONTROL_BYTES = bytes([*range(0, 10), 11, 12, *range(14, 32), 127])


def has_controls(text: str) -> bool:
    return "\t" in text or _CONTROL.search(text) is not None


def strip_controls(text: str) -> tuple[str, list[str]]:
    """`text` with tab made a space, U+000B/U+000C (Word's line and page breaks) made a newline and
    every other control character removed; and the controls found, as "U+000B" (tab not counted:
    it is only a space)."""
    found = sorted({f"U+{ord(ch):04X}" for ch in _CONTROL.findall(text)})
    cleaned = _CONTROL.sub(lambda m: _CONTROL_MAP.get(m.group(), ""), text).replace("\t", " ")
    return cleaned, found


def printable(text: str) -> str:
    """The second guard of every writer: `text` without the characters no document format accepts."""
    if _CONTROL.search(text) is None:
        return text
    return _CONTROL.sub(lambda m: _CONTROL_MAP.get(m.group(), ""), text)
