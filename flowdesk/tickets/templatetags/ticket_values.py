"""Field values on the ticket page that need more than text: attachments as download links,
tables as HTML tables. Other types are shown by `fd.field_value`."""

from django import template
from django.template.loader import render_to_string

from flowdesk import engine
from flowdesk.texts import localized
from flowdesk.tickets.models import Attachment
from flowdesk.web.templatetags.fd import field_value

register = template.Library()


@register.simple_tag
def show_value(
    defn: engine.Definition, key: str, value: object, files: dict[str, Attachment] | None = None
) -> str:
    """A stored value as HTML; `files` are the page's attachments by id (see views._files)."""
    field = defn.fields.get(key, {})
    kind = field.get("type")
    if kind == "attachment" and isinstance(value, list) and value:
        listed = [(str(item), (files or {}).get(str(item))) for item in value]
        return render_to_string("tickets/_attachment_links.html", {"files": listed})
    if kind == "table" and isinstance(value, list) and value:
        columns = [
            (column["key"], localized(column.get("label"), column["key"]), column)
            for column in field.get("columns") or []
        ]
        rows = [
            [_cell(column, row.get(key_)) for key_, _label, column in columns]
            for row in value
            if isinstance(row, dict)
        ]
        context = {"labels": [label for _key, label, _column in columns], "rows": rows}
        return render_to_string("tickets/_table_value.html", context)
    return field_value(defn, key, value)


def _cell(column: dict, value: object) -> str:
    """One cell, shown like a field of the column's type (option labels, local times...)."""
    return field_value(_OneField(column), "cell", value)


class _OneField:
    """Just enough of a Definition for `field_value`: the one column's definition."""

    def __init__(self, column: dict) -> None:
        self.fields = {"cell": column}
