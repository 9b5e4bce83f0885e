"""Reading and writing workflow documents as YAML or JSON.

YAML is read with the YAML 1.2 core schema (as JSON sees values): `yes`, `no`, `on`, `off`,
`2025-01-31` and `12:30` stay strings; only `true`/`false`, `null`/`~` and plain numbers are
not. Duplicate keys are errors, not silently overwritten.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import BaseResolver

from .validation import Problem, size_problem

__all__ = ["DocumentError", "dump_document", "load_document"]

# libyaml reads flow scalars such as `{en: Test passed?}` as YAML 1.2 does; the pure-Python
# scanner stops at the `?`. Fall back to it only where PyYAML was built without libyaml.
try:
    from yaml.cyaml import CParser as _Parser
except ImportError:  # pragma: no cover - PyYAML wheels ship libyaml

    class _Parser(  # type: ignore[no-redef]
        yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)


class DocumentError(ValueError):
    """The text is not a readable workflow document; `problems` say where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


# --- YAML 1.2 core schema ---------------------------------------------------------------------

_TAG = "tag:yaml.org,2002:"
_CORE = [
    ("null", r"~|null|Null|NULL|", "~nN"),
    ("bool", r"true|True|TRUE|false|False|FALSE", "tTfF"),
    ("int", r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+", "-+0123456789"),
    (
        "float",
        r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        "-+0123456789.",
    ),
    ("merge", r"<<", "<"),
]


def _add_core_resolvers(cls: type[BaseResolver]) -> None:
    for name, pattern, first in _CORE:
        starts = list(first) + ([""] if name == "null" else [])
        cls.add_implicit_resolver(_TAG + name, re.compile(rf"^(?:{pattern})$"), starts)


class _CoreResolver(BaseResolver):
    pass


_add_core_resolvers(_CoreResolver)


class _Constructor(SafeConstructor):
    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        value = str(self.construct_scalar(node))
        if value.startswith(("0o", "0x")):
            return int(value[2:], 8 if value[1] == "o" else 16)
        return int(value)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: set = set()
        for key_node, _ in node.value:
            if key_node.tag == _TAG + "merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue  # unhashable: SafeConstructor reports it below
            if duplicate:
                raise ConstructorError(
                    None,
                    None,
                    f"the key {key!r} appears twice in this mapping",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


_Constructor.add_constructor(_TAG + "int", _Constructor.construct_yaml_int)


class _Loader(_Parser, _Constructor, _CoreResolver):
    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        _Constructor.__init__(self)
        _CoreResolver.__init__(self)


# --- loading ----------------------------------------------------------------------------------


def load_document(text: str, *, filename: str = "") -> dict:
    """Parse a workflow document from YAML or JSON text; raise DocumentError if unreadable.

    A `.json` file is read as JSON, a `.yaml`/`.yml` file as YAML. Other text that starts like
    JSON (`{"`) is read as JSON, then as YAML, and if both fail the JSON error is given.
    Only the syntax and the top-level shape are checked here: see `validate_document`.
    """
    text = text.removeprefix("\ufeff")
    suffix = filename.lower().rpartition(".")[2] if "." in filename else ""
    if suffix == "json":
        data = _load_json(text)
    elif suffix not in {"yaml", "yml"} and re.match(r'\s*\{\s*["}]', text):
        data = _load_json_or_yaml(text)
    else:
        data = _load_yaml(text)
    return _top_level(data)


def _load_json_or_yaml(text: str) -> Any:
    """Text that starts like JSON: JSON's error if it is neither JSON nor YAML."""
    try:
        return _load_json(text)
    except DocumentError as json_error:
        try:
            return _load_yaml(text)
        except DocumentError:
            raise json_error from None


def _load_json(text: str) -> Any:
    try:
        return json.loads(text, object_pairs_hook=_json_object, parse_constant=_json_constant)
    except json.JSONDecodeError as error:
        raise _syntax(error.lineno, error.colno, error.msg) from None
    except _Refused as error:
        raise _locate(text, error) from None
    except RecursionError:
        raise DocumentError([Problem("(document)", "the document is nested too deeply")]) from None


class _Refused(ValueError):
    """Valid JSON that a document may not contain: a key twice in an object, NaN, Infinity."""

    def __init__(self, word: str, duplicate: bool) -> None:
        super().__init__(word)
        self.word = word
        self.duplicate = duplicate


def _json_object(pairs: list[tuple[str, Any]]) -> dict:
    result: dict = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(key, duplicate=True)
        result[key] = value
    return result


def _json_constant(name: str) -> None:
    raise _Refused(name, duplicate=False)


def _locate(text: str, error: _Refused) -> DocumentError:
    """The refusal with its line: JSON's decoder does not tell where, YAML's reader does."""
    if error.duplicate:
        try:
            _load_yaml(text)  # JSON is YAML: the YAML reader stops at the duplicate key
        except DocumentError as found:
            if "appears twice" in str(found):
                return found
        return _syntax(None, None, f"the key {error.word!r} appears twice in one object")
    hit = re.search(r"[:\[,]\s*(" + re.escape(error.word) + r")\b", text)
    offset = hit.start(1) if hit else 0
    line, column = text.count("\n", 0, offset) + 1, offset - text.rfind("\n", 0, offset)
    return _syntax(line, column, f"{error.word} is not a JSON value (JSON has no NaN or Infinity)")


def _load_yaml(text: str) -> Any:
    loader = _Loader(text)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise _syntax(*where, _yaml_message(error, text)) from None
    except yaml.YAMLError as error:
        raise _syntax(None, None, str(error)) from None
    except RecursionError:
        raise DocumentError([Problem("(document)", "the document is nested too deeply")]) from None
    finally:
        loader.dispose()


def _yaml_message(error: yaml.MarkedYAMLError, text: str) -> str:
    message = error.problem or "cannot read this"
    if error.context and error.context not in message:
        message = f"{message} ({error.context})"
    mark, lines = error.problem_mark, text.splitlines()
    if mark is not None and mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
        message += "; indent with spaces: YAML does not allow tabs"
    return message


def _syntax(line: int | None, column: int | None, message: str) -> DocumentError:
    if line is None:
        return DocumentError([Problem("(document)", message)])
    return DocumentError([Problem(f"line {line}", f"{message} (column {column})")])


def _top_level(data: Any) -> dict:
    if data is None:
        raise DocumentError([Problem("(document)", "the document is empty")])
    if not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else "a single value"
        raise DocumentError(
            [
                Problem(
                    "(document)", f"must be a mapping of keys (key, name, nodes, ...), not {kind}"
                )
            ]
        )
    if problem := size_problem(data):
        raise DocumentError([problem])
    return data


# --- dumping ----------------------------------------------------------------------------------

_FLOW_WIDTH = 72


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent list items under their key


# Quote what either YAML 1.1 or 1.2 would read as a non-string (e.g. "0o17", "yes").
_add_core_resolvers(_Dumper)


def _flat(value: Any) -> bool:
    return not isinstance(value, dict | list) and not (isinstance(value, str) and "\n" in value)


def _short(value: Any) -> bool:
    return len(json.dumps(value, ensure_ascii=False)) <= _FLOW_WIDTH


def _represent_dict(dumper: _Dumper, data: dict) -> yaml.Node:
    flow = bool(data) and all(map(_flat, data.values())) and _short(data)
    return dumper.represent_mapping(_TAG + "map", data.items(), flow_style=flow)


def _represent_list(dumper: _Dumper, data: list) -> yaml.Node:
    flow = all(map(_flat, data)) and _short(data)
    return dumper.represent_sequence(_TAG + "seq", data, flow_style=flow)


def _represent_str(dumper: _Dumper, data: str) -> yaml.Node:
    style = None
    if re.search("[\x85\u2028\u2029]", data):
        style = '"'  # line breaks to YAML: escape them, or a reader folds them
    elif "\n" in data.rstrip("\n") and not re.search(r"[ \t]\n|[^\S\n]$", data):
        style = "|"
    return dumper.represent_scalar(_TAG + "str", data, style=style)


class _Block(dict):
    """The top-level mapping: always in block style."""


def _represent_block(dumper: _Dumper, data: _Block) -> yaml.Node:
    return dumper.represent_mapping(_TAG + "map", data.items(), flow_style=False)


_Dumper.add_representer(_Block, _represent_block)
_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)
_Dumper.add_representer(str, _represent_str)


def dump_document(doc: dict, fmt: Literal["yaml", "json"] = "yaml") -> str:
    """The document as readable YAML (key order and non-ASCII text kept) or indented JSON."""
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt != "yaml":
        raise ValueError(f"Unknown format {fmt!r}: use yaml or json.")
    text = yaml.dump(_Block(doc), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=100)
    # A blank line before each top-level list (fields, nodes, transitions).
    return re.sub(r"\n(?=[^\s#][^\n]*:\n  - )", "\n\n", text)
