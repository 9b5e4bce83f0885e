"""Problems and how they read: where in the document (`format_path`), in what order, and the
words shared by every rule ("a task", "did you mean ...?"); also the document's size limits."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

MAX_VALUES = 50_000  # values in one document, counting every use of a YAML anchor
MAX_DEPTH = 40

Loc = tuple[Any, ...]  # a path as keys and list indices; () is the whole document


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a document: where (a path like `nodes[3].approval`) and what."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def size_problem(doc: object) -> Problem | None:
    """A problem if the document nests too deep or holds too much (e.g. a recursive anchor)."""
    stack, count = [(doc, 0)], 0
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH:
            return Problem("(document)", f"is nested more than {MAX_DEPTH} levels deep")
        if count > MAX_VALUES:
            return Problem("(document)", f"holds more than {MAX_VALUES} values")
        if isinstance(value, dict | list):
            items = value.values() if isinstance(value, dict) else value
            stack.extend((item, depth + 1) for item in items)
    return None


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def format_path(loc: Iterable[Any]) -> str:
    """`("nodes", 3, "approval")` → `nodes[3].approval`; the empty path is `(document)`."""
    text = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif isinstance(part, str) and _NAME.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]"
    return text or "(document)"


def in_document_order(doc: object, found: list[tuple[Loc, str]]) -> list[Problem]:
    unique = list(dict.fromkeys(found))
    unique.sort(key=lambda item: _position(doc, item[0]))
    return [Problem(format_path(loc), message) for loc, message in unique]


def _position(doc: object, loc: Loc) -> tuple[int, ...]:
    """Sort key: where each step of the path sits in the document (missing keys last)."""
    key, here = [], doc
    for part in loc:
        if isinstance(here, dict) and part in here:
            key.append(list(here).index(part))
            here = here[part]
        elif isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here):
            key.append(part)
            here = here[part]
        else:
            key.append(1 << 30)
            here = None
    return tuple(key)


def article(word: object) -> str:
    """`word` with its indefinite article: "a task", "an approval"."""
    return f"{'an' if str(word)[:1] in 'aeiou' else 'a'} {word}"


def one_of(value: object, choices: Iterable[str]) -> bool:
    """`value in choices` for any value (a list from a damaged document is not hashable)."""
    return isinstance(value, str) and value in choices


def did_you_mean(word: object, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""
