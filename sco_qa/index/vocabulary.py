"""The corpus's own words, used to read a question as the corpus would write it: typos
within an edit or two of a corpus word, and acronyms of names the corpus spells out
("EU" → "European Union"), whether or not it defines them in brackets."""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from ..text import content_words, tokens

_CAP = r"[A-Z][\w’'-]*"
_NAME = re.compile(rf"{_CAP}(?:\s+(?:(?:of|and|for|the|on|in|de)\s+)?{_CAP})+")
_DEFINED = re.compile(
    rf"({_CAP}(?:\s+(?:(?:of|and|for|the|on|in|de)\s+)?{_CAP})+)\s*\(([A-Z]{{2,6}})\)"
)


def max_typos(word: str) -> int:
    """Edits a word may be away from a corpus word and still be read as it (by length)."""
    return 0 if len(word) < 5 else (1 if len(word) < 9 else 2)


def _initials(words: Sequence[str]) -> str:
    """``["Non-Proliferation", "Treaty"]`` → ``"npt"``."""
    return "".join(p[0] for w in words for p in w.split("-") if p and p[0].isupper()).lower()


def _starts_sentence(text: str, pos: int) -> bool:
    before = text[:pos].rstrip()
    return not before or before.endswith((".", "!", "?", "“", '"', ":", "\n"))


def acronyms_of(text: str) -> dict[str, str]:
    """Acronym → the name it abbreviates: bracketed definitions first, then the initials of
    every run of two or more capitalised words (``"European Union"`` → ``"eu"``); a
    sentence's capitalised first word is not taken as part of a name."""
    found: dict[str, str] = {}
    for name, short in _DEFINED.findall(text):
        caps = [w for w in name.split() if w[0].isupper()]
        for i in range(len(caps) - 1):
            if _initials(caps[i:]) == short.lower():
                found.setdefault(short.lower(), " ".join(caps[i:]))
                break
    for match in _NAME.finditer(text):
        caps = [w for w in match.group(0).split() if w[0].isupper()]
        if _starts_sentence(text, match.start()):
            caps = caps[1:]
        for i in range(len(caps)):
            for j in range(i + 2, min(len(caps), i + 6) + 1):
                found.setdefault(_initials(caps[i:j]), " ".join(caps[i:j]))
    found.pop("", None)
    return found


@dataclass(frozen=True)
class Vocabulary:
    """Sorted corpus words (for typos) and acronyms (for abbreviations)."""

    words: tuple[str, ...] = ()
    acronyms: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> Vocabulary:
        """The words and acronyms of ``texts``."""
        words = sorted({w for t in texts for w in content_words(t) if max_typos(w)})
        acronyms: dict[str, str] = {}
        for t in texts:
            for short, name in acronyms_of(t).items():
                acronyms.setdefault(short, name)
        return cls(tuple(words), MappingProxyType(acronyms))

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data for the index folder."""
        return {"words": list(self.words), "acronyms": dict(self.acronyms)}

    @classmethod
    def from_json(cls, data: Any) -> Vocabulary:
        """Read what ``to_json`` wrote."""
        if isinstance(data, list):  # indexes built before acronyms were kept
            return cls(tuple(data))
        return cls(tuple(data["words"]), MappingProxyType(dict(data["acronyms"])))

    def word(self, word: str, stem: str, known: Container[str]) -> tuple[str, ...]:
        """How one normalised word (and its stem) is read: as itself when the corpus has
        its stem, else as a corpus acronym's name, or as the nearest corpus word with its
        first letter within ``max_typos`` edits."""
        if stem in known:
            return (stem,)
        if word in self.acronyms:
            return tuple(tokens(self.acronyms[word]))
        return (self._nearest(word) or stem,)

    def _nearest(self, word: str) -> str | None:
        from rapidfuzz import distance, process

        limit = max_typos(word)
        if not limit:
            return None
        lo = bisect_left(self.words, word[0])
        hi = bisect_left(self.words, chr(ord(word[0]) + 1))
        best = process.extractOne(
            word, self.words[lo:hi], scorer=distance.Levenshtein.distance, score_cutoff=limit
        )
        return tokens(best[0])[0] if best else None
