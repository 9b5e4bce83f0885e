"""Checking a workflow document: its JSON Schema first, then the rules of the format reference.

`validate_document(doc)` returns every problem as `Problem(path, message)` in document order;
an empty list means the document can be deployed. docs/workflow-format.md lists the rules.
The sentences are for process designers, so they name keys and ids, never schema keywords.

Modules, by sub-domain: `check` (the entry point), `problems` (paths, order, shared wording,
size limits), `schema` (JSON Schema errors in designers' words), `context` (the document under
check), `fields`, `conditions`, `nodes`, `transitions`, `graph` (the shape of the graph),
`blocks` (parallel blocks and returns across them), `separation` (steps kept apart), `options`
(SLA, notification and timer options) and `automation` (automation nodes).
"""

from .check import validate_document
from .context import RoleCatalog
from .problems import Problem, format_path, size_problem
from .schema import SCHEMA_PATH, workflow_schema

__all__ = [
    "SCHEMA_PATH",
    "Problem",
    "RoleCatalog",
    "format_path",
    "size_problem",
    "validate_document",
    "workflow_schema",
]
