"""Ticket forms built from a workflow's field definitions.

The form only collects raw values and gives the browser hints (required, pattern, min/max);
judging them is the service layer's job (`InvalidValues`), whose errors the form shows next to
each field. Conditions (`visible_when`, `required_when`) are evaluated here with the engine's
own `evaluate`, so the page shows exactly the fields the server will ask for.
"""

import json
import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from flowdesk import engine
from flowdesk.directory.models import Business
from flowdesk.texts import localized
from flowdesk.tickets.access import as_uuid
from flowdesk.tickets.models import Attachment

MAX_TITLE = 200
# Fields whose widget needs static/web/fields.js (the upload widget and the table editor).
SCRIPTED = {"attachment", "table"}
_ROW_ERROR = re.compile(r"Row (\d+)")


class RawListField(forms.Field):
    """A list of submitted strings, judged later by the engine (no choice check here)."""

    widget = forms.CheckboxSelectMultiple

    def to_python(self, value: object) -> list[str]:
        return list(value) if isinstance(value, list | tuple) else []


class AttachmentWidget(forms.Widget):
    """A file chooser that uploads each file at once (fields.js) and keeps the ids as hidden
    inputs named after the field, shown as chips with name and size."""

    template_name = "tickets/widgets/attachment.html"
    input_type = "attachment"

    def __init__(self, field: dict) -> None:
        super().__init__()
        self.max = field.get("max")

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        return data.getlist(name) if hasattr(data, "getlist") else list(data.get(name) or [])

    def format_value(self, value: object) -> list[str]:
        return [str(item) for item in value] if isinstance(value, list | tuple) else []

    def get_context(self, name: str, value: object, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        ids = context["widget"]["value"]
        pks = {item: as_uuid(item) for item in ids}
        known = Attachment.objects.in_bulk([pk for pk in pks.values() if pk])
        context["widget"] |= {
            "files": [known.get(pks[i]) or {"pk": i, "name": i, "size": None} for i in ids],
            "multiple": self.max is None or int(self.max) > 1,
        }
        return context


class TableWidget(forms.Widget):
    """The table editor (Alpine.js, fields.js): typed inputs per column, rows added and removed,
    sent as the JSON list of row objects in one hidden input named after the field."""

    template_name = "tickets/widgets/table.html"
    input_type = "table"

    def __init__(self, field: dict) -> None:
        super().__init__()
        self.columns = [_column(column) for column in field.get("columns") or []]
        self.error_row: int | None = None

    def format_value(self, value: object) -> str:
        return value if isinstance(value, str) else ""

    def get_context(self, name: str, value: object, attrs: dict | None) -> dict:
        context = super().get_context(name, value, attrs)
        try:
            rows = json.loads(context["widget"]["value"] or "[]")
        except ValueError:
            rows = []
        context["widget"]["columns"] = self.columns
        context["widget"]["config_id"] = f"{context['widget']['attrs'].get('id', name)}-config"
        context["widget"]["config"] = {
            "columns": self.columns,
            "rows": rows if isinstance(rows, list) else [],
            "errorRow": self.error_row,
        }
        return context


def _column(column: dict) -> dict:
    """What the table editor needs to know of a column."""
    return {
        "key": column.get("key"),
        "type": column.get("type", "string"),
        "label": localized(column.get("label"), str(column.get("key"))),
        "required": bool(column.get("required")),
        "options": _options(column),
    }


def _hints(field: dict, kind: str) -> dict[str, str]:
    """Client-side hints only: the browser can warn early, the server still decides."""
    attrs: dict[str, str] = {}
    low, high = field.get("min"), field.get("max")
    if kind in {"string", "text", "url", "email"}:
        if low is not None:
            attrs["minlength"] = str(low)
        if high is not None:
            attrs["maxlength"] = str(high)
    elif kind in {"integer", "decimal", "date"}:
        if low is not None:
            attrs["min"] = str(low)[:10] if kind == "date" else str(low)
        if high is not None:
            attrs["max"] = str(high)[:10] if kind == "date" else str(high)
    if kind == "string" and field.get("pattern"):
        attrs["pattern"] = field["pattern"]
    if kind == "checksum":
        length = {"md5": 32, "sha256": 64}.get(field.get("algorithm", ""), 0)
        attrs |= {"pattern": f"[0-9a-fA-F]{{{length}}}", "spellcheck": "false"}
    return attrs


def _options(field: dict) -> list[tuple[str, str]]:
    options = []
    for option in field.get("options") or []:
        value = option.get("value") if isinstance(option, dict) else option
        label = option.get("label") if isinstance(option, dict) else None
        options.append((str(value), localized(label, str(value))))
    return options


def _form_field(field: dict) -> forms.Field:
    kind = field["type"]
    attrs = _hints(field, kind)
    widgets = {
        "text": forms.Textarea(attrs={"rows": 4, **attrs}),
        "integer": forms.NumberInput(attrs={"step": "1", **attrs}),
        "decimal": forms.NumberInput(attrs={"step": "any", **attrs}),
        "date": forms.DateInput(attrs={"type": "date", **attrs}),
        "datetime": forms.DateTimeInput(attrs={"type": "datetime-local", **attrs}),
        "url": forms.URLInput(attrs={"placeholder": "https://…", **attrs}),
        "email": forms.EmailInput(attrs=attrs),
        "boolean": forms.Select(choices=[("", "—"), ("true", _("Yes")), ("false", _("No"))]),
        "select": forms.Select(choices=[("", "—"), *_options(field)]),
        "member": forms.TextInput(attrs={"placeholder": _("username"), "list": "fd-users"}),
        "members": forms.TextInput(attrs={"placeholder": _("usernames, separated by commas")}),
    }
    if kind == "multiselect":
        widget = forms.CheckboxSelectMultiple(
            choices=_options(field), attrs={"class": "form-check-input"}
        )
        return RawListField(required=False, widget=widget)
    if kind == "attachment":
        return RawListField(required=False, widget=AttachmentWidget(field))
    if kind == "table":
        return forms.CharField(required=False, strip=False, widget=TableWidget(field))
    widget = widgets.get(kind, forms.TextInput(attrs=attrs))
    return forms.CharField(required=False, strip=False, widget=_styled(widget))


def _styled(widget: forms.Widget) -> forms.Widget:
    """Bootstrap's classes on a widget."""
    css = "form-select" if isinstance(widget, forms.Select) else "form-control"
    widget.attrs["class"] = f"{css} {widget.attrs.get('class', '')}".strip()
    return widget


def _to_value(field: dict, raw: object) -> object:
    """The browser's string (or list) as the value the service layer expects."""
    kind = field["type"]
    if kind == "multiselect":
        return [_option_value(field, item) for item in raw or []]
    if kind == "attachment":
        return [item.strip() for item in raw or [] if isinstance(item, str) and item.strip()]
    if not isinstance(raw, str) or raw.strip() == "":
        return None
    if kind == "select":
        return _option_value(field, raw)
    if kind == "datetime":
        return _aware_iso(raw)
    if kind == "members":
        return [item.strip() for item in raw.replace("\n", ",").split(",") if item.strip()]
    if kind == "table":
        try:
            return json.loads(raw)
        except ValueError:
            return raw  # the engine says what a table value must look like
    return raw


def _option_value(field: dict, raw: str) -> object:
    """Options may be numbers; the form only knows their text."""
    for value in engine.option_values(field):
        if str(value) == raw:
            return value
    return raw


def _aware_iso(raw: str) -> str:
    """A datetime-local value, read in the user's time zone, as ISO 8601 with an offset."""
    moment = parse_datetime(raw.strip())
    if moment is None:
        return raw
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment.isoformat()


def _to_initial(field: dict, value: object) -> object:
    """A stored value as the widget shows it."""
    if value is None:
        return None
    kind = field["type"]
    if kind == "datetime" and isinstance(value, str):
        moment = parse_datetime(value)
        return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M") if moment else value
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "members" and isinstance(value, list):
        return ", ".join(map(str, value))
    if kind == "table":
        return json.dumps(value, ensure_ascii=False)
    if kind in {"multiselect", "attachment"}:
        return [str(item) for item in value]
    return str(value)


class StepForm(forms.Form):
    """The fields one step of a workflow edits (the start node's when submitting).

    `current` are the ticket's values so far (the defaults when submitting); `data` the
    browser's. Header fields (title, business picker) are added for a new ticket.
    """

    def __init__(
        self,
        defn: engine.Definition,
        node_id: str,
        *,
        current: dict | None = None,
        results: dict | None = None,
        data: dict | None = None,
        businesses: Iterable[Business] | None = None,
        with_title: bool = False,
    ) -> None:
        super().__init__(data=data)
        self.defn = defn
        self.current = current or {}
        self.keys = [key for key in defn.node(node_id).fields]
        if with_title:
            self.fields["title"] = forms.CharField(
                label=_("Title"),
                required=False,
                widget=_styled(forms.TextInput(attrs={"maxlength": MAX_TITLE, "required": True})),
            )
            self.fields["title"].fd_required = True
        if businesses is not None:
            choices = [("", "—")] + [
                (b.key, localized({"en": b.name, "zh": b.name_zh})) for b in businesses
            ]
            self.fields["business"] = forms.CharField(
                label=_("Business"),
                required=False,
                widget=_styled(forms.Select(choices=choices, attrs={"required": True})),
            )
            self.fields["business"].fd_required = True
        self.merged = {**(current or {}), **self._raw_values()}
        for key in self.keys:
            self._add_field(key, current or {}, results or {})

    def _raw_values(self) -> dict:
        """The browser's values, converted but not judged, for evaluating conditions."""
        if not self.is_bound:
            return {}
        raw = {}
        for key in self.keys:
            field = self.defn.fields[key]
            listed = field["type"] in {"multiselect", "attachment"}
            if listed:
                value = self.data.getlist(key) if hasattr(self.data, "getlist") else []
            else:
                value = self.data.get(key)
            if key in self.data or listed:
                raw[key] = _to_value(field, value)
        return raw

    def _holds(self, condition: dict | None, results: dict, default: bool) -> bool:
        if not condition:
            return default
        return engine.evaluate(condition, self.merged, results, self.defn.fields)

    def _add_field(self, key: str, current: dict, results: dict) -> None:
        definition = self.defn.fields[key]
        if not self._holds(definition.get("visible_when"), results, True):
            return  # hidden: the server drops its value too
        field = _form_field(definition)
        field.label = localized(definition.get("label"), key)
        field.help_text = localized(definition.get("help"))
        field.initial = _to_initial(definition, current.get(key))
        required = bool(definition.get("required")) or self._holds(
            definition.get("required_when"), results, False
        )
        field.fd_required = required
        if required and definition["type"] not in {"multiselect", "boolean", *SCRIPTED}:
            field.widget.attrs["required"] = True
        field.fd_conditional = bool(
            definition.get("visible_when") or definition.get("required_when")
        )
        self.fields[key] = field

    @property
    def has_conditions(self) -> bool:
        """Whether changing a value may show, hide or require another field."""
        return any(
            self.defn.fields[key].get("visible_when") or self.defn.fields[key].get("required_when")
            for key in self.keys
        )

    @property
    def needs_scripts(self) -> bool:
        """Whether a widget on the form needs static/web/fields.js."""
        return any(self.defn.fields[key]["type"] in SCRIPTED for key in self.fields_shown)

    @property
    def fields_shown(self) -> list[str]:
        return [key for key in self.keys if key in self.fields]

    def values(self) -> dict:
        """The submitted step values (visible fields only), for a `do_*` action.

        Attachment ids kept as they were are left out: the service layer accepts only files
        the actor uploaded, and a value left out keeps the one entered at an earlier step.
        """
        values = {}
        for key in self.fields_shown:
            field = self.defn.fields[key]
            value = _to_value(field, self.cleaned_data.get(key))
            unchanged = value == [str(item) for item in self.current.get(key) or []]
            if not (field["type"] == "attachment" and unchanged):
                values[key] = value
        return values

    def add_engine_errors(self, errors: dict[str, list[str]]) -> None:
        """Show the service layer's verdict next to each field (or above the form)."""
        for key, messages in errors.items():
            translated = [gettext(message) for message in messages]
            if key in self.fields:
                self.add_error(key, translated)
                widget = self.fields[key].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid"
                if isinstance(widget, TableWidget) and (row := _ROW_ERROR.match(messages[0])):
                    widget.error_row = int(row.group(1))  # the editor marks that row
            else:
                label = localized(self.defn.fields.get(key, {}).get("label"), key)
                self.add_error(None, [f"{label}: {message}" for message in translated])


def local_datetime(value: str) -> datetime | None:
    """A stored ISO 8601 value as an aware datetime (for display in the user's time zone)."""
    moment = parse_datetime(value) if isinstance(value, str) else None
    return timezone.localtime(moment) if moment and timezone.is_aware(moment) else moment
