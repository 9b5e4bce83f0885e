"""Forms of the workflow designer; the document's own rules live in the engine's validation."""

from django import forms
from django.utils.translation import gettext_lazy as _

from flowdesk.workflows.models import Workflow, WorkflowType


class WorkflowForm(forms.Form):
    """A new workflow: what its first draft needs besides the start and end nodes."""

    key = forms.RegexField(
        label=_("Key"),
        regex=r"^[a-z][a-z0-9_-]{1,62}\Z",
        error_messages={
            "invalid": _("Use 2-63 lowercase letters, digits, '-' and '_', starting with a letter.")
        },
        help_text=_("Used in URLs, files and the API, e.g. app-release. It cannot change later."),
    )
    name = forms.CharField(label=_("Name"), max_length=200)
    name_zh = forms.CharField(label=_("Chinese name"), max_length=200, required=False)
    type = forms.ChoiceField(label=_("Type"), choices=WorkflowType.choices)
    scope = forms.ChoiceField(
        label=_("Scope"),
        choices=[
            ("business", _("Linked to a business (business roles resolve in it)")),
            ("global", _("Global (no business)")),
        ],
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs.setdefault("class", "form-select" if select else "form-control")

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if Workflow.objects.filter(key=key).exists():
            raise forms.ValidationError(_("A workflow with this key exists already."))
        return key

    def document(self) -> dict:
        """The first draft: a start node leading straight to an end node."""
        data = self.cleaned_data
        name = {"en": data["name"], **({"zh": data["name_zh"]} if data["name_zh"] else {})}
        return {
            "key": data["key"],
            "name": name,
            "type": data["type"],
            "scope": data["scope"],
            "nodes": [
                {"id": "submit", "type": "start", "name": {"en": "Submit", "zh": "提单"}},
                {"id": "done", "type": "end", "name": {"en": "Done", "zh": "结束"}},
            ],
            "transitions": [{"from": "submit", "to": "done"}],
        }
