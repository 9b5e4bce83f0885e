"""JSON bodies, refusing what the database cannot store as text (NUL, lone surrogates) or
JSON cannot carry (infinities), so such input is a 400, never a 500."""

import re
from collections.abc import Mapping

from rest_framework import exceptions, parsers

_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")


def unstorable(value: object) -> str | None:
    """Why `value` (parsed JSON, or query parameters) cannot be stored; None when it can."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                return "Text may not contain NUL characters or unpaired surrogates."
        elif isinstance(item, float):
            if item != item or item in (float("inf"), float("-inf")):
                return "Numbers must be finite."
        elif isinstance(item, Mapping):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return None


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):  # noqa: ANN001, ANN201
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - nested too deeply.") from None
        if problem := unstorable(data):
            raise exceptions.ParseError(problem)
        return data
