"""Finds known people's full names in free text (calendar subjects and locations).

A hand-typed "Coaching: Anna Virtanen" names a client without inviting her; the index must still
know the entry is about her. Names are matched as whole, case-folded word sequences.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_WORD = re.compile(r"[^\W\d_]+(?:[-'][^\W\d_]+)*", re.UNICODE)
MAX_WORDS = 4


def words(text: str) -> list[str]:
    return [w.casefold() for w in _WORD.findall(text)]


class NameMatcher:
    """Full names (two to four words) → subject ids."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, ...], set[int]] = {}

    def add(self, subject_id: int, name: str | None) -> None:
        if not name:
            return
        key = tuple(words(name))
        if 2 <= len(key) <= MAX_WORDS:
            self._names.setdefault(key, set()).add(subject_id)

    def __len__(self) -> int:
        return len(self._names)

    def find(self, text: str) -> set[int]:
        if not self._names or not text:
            return set()
        tokens = words(text)
        found: set[int] = set()
        for start in range(len(tokens)):
            for size in range(2, MAX_WORDS + 1):
                ids = self._names.get(tuple(tokens[start : start + size]))
                if ids:
                    found |= ids
        return found

    @classmethod
    def of(cls, pairs: Iterable[tuple[int, str | None]]) -> NameMatcher:
        matcher = cls()
        for subject_id, name in pairs:
            matcher.add(subject_id, name)
        return matcher
