"""Forms of the notification pages. They parse input; the rules live in the actions, whose
ValidationErrors `add_action_errors` puts next to the fields they name."""

import re

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from flowdesk.catalog.models import Service
from flowdesk.notify.endpoints import CHAT_EVENTS, TICKET_EVENTS
from flowdesk.notify.models import Endpoint
from flowdesk.web.forms_manage import BootstrapForm

# --- chat and webhook endpoints ----------------------------------------------------------------


class EndpointForm(BootstrapForm):
    name = forms.CharField(label=_("Name"), max_length=100)
    kind = forms.ChoiceField(label=_("Kind"), choices=Endpoint.Kind.choices)
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        widget=forms.URLInput,
        help_text=_("The chat robot's webhook address, or your receiver's."),
    )
    secret = forms.CharField(
        label=_("Signing secret"),
        max_length=200,
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Required for JSON webhooks; optional for DingTalk and Feishu (their signature "
            "check); unused by WeCom and Slack. Leave empty to keep the current one."
        ),
    )
    service = forms.ModelChoiceField(
        Service.objects.order_by("key"),
        to_field_name="key",
        label=_("Service"),
        required=False,
        empty_label=_("Every service"),
    )
    events = forms.CharField(
        label=_("Events"),
        required=False,
        help_text=format_lazy(
            _("Separated by commas; empty: all. JSON webhooks: {ticket}. Chat: {chat}."),
            ticket=", ".join(TICKET_EVENTS),
            chat=", ".join(CHAT_EVENTS),
        ),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)

    def clean_events(self) -> list[str]:
        return [name for name in re.split(r"[\s,]+", self.cleaned_data["events"]) if name]


# --- e-mail templates --------------------------------------------------------------------------


class TemplateForm(BootstrapForm):
    subject = forms.CharField(label=_("Subject"), max_length=300, strip=False)
    text = forms.CharField(
        label=_("Text body"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 12, "class": "form-control font-monospace"}),
    )
    html = forms.CharField(
        label=_("HTML body"),
        strip=False,
        widget=forms.Textarea(attrs={"rows": 16, "class": "form-control font-monospace"}),
    )
