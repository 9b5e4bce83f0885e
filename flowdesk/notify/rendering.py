"""An e-mail delivery as its recipient reads it: the event's template (an admin's version, else the
shipped default) rendered in the recipient's language from the payload frozen at the event.

Templates are rendered by an engine of their own: `{% extends %}`/`{% include %}` find only the
message templates shipped here, no tag library can be loaded, and the context holds plain
values (strings, numbers, lists, dicts), so a template shows data and reaches nothing else.
Values are not trusted: the HTML body is autoescaped; the text body and the subject are not HTML
and are not escaped. A subject is one line (header injection is impossible).
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import prefetch_related_objects
from django.template import Context, Engine
from django.utils import formats, timezone, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from flowdesk import engine
from flowdesk.notify.models import Delivery, NotificationTemplate
from flowdesk.texts import localized
from flowdesk.web.templatetags.fd import field_value, person

PARTS = ("subject", "text", "html")
_SUFFIXES = {"subject": "subject.txt", "text": "txt", "html": "html"}
ENGINE = Engine(dirs=[str(Path(__file__).parent / "templates")])

# The variables a template may use (shown on the template page, described in the docs).
VARIABLES = (
    ("recipient", _("the recipient's display name")),
    ("serial, title", _("the ticket's serial number and title")),
    ("service", _("the service's name")),
    ("requester", _("who submitted the ticket")),
    ("node_name", _("the step the event happened at (empty for the whole ticket)")),
    ("actor", _("who caused the event (empty when the system did)")),
    ("comment", _("the comment or reason given, if any")),
    ("url", _("the absolute link to the ticket")),
    ("fields", _("the key fields: a list of {label, value}")),
    ("due_at", _("SLA events: when the step is due")),
    ("error", _("automation failures: what went wrong")),
    ("at", _("when the event happened")),
)

# What the edit page validates and previews a template with: a release at test confirmation.
SAMPLE_PAYLOAD = {
    "serial": "CRQ20261127000001",
    "title": "Release server 2.4.1",
    "service": {"en": "Application release", "zh": "应用发布"},
    "status": "running",
    "requester": "pm_alice",
    "node": "test_confirm",
    "node_name": {"en": "Test confirmation", "zh": "测试确认版本质量"},
    "actor": "ops_carol",
    "comment": "Please check the <config> diff & the changelog.",
    "path": "/tickets/CRQ20261127000001/",
    "fields": [
        {
            "key": "package_url",
            "label": {"en": "Version package path", "zh": "版本包路径"},
            "value": "https://artifacts.example.com/game-a/server-2.4.1.tar.gz",
        },
        {
            "key": "package_md5",
            "label": {"en": "Package MD5", "zh": "版本包 MD5"},
            "value": "9e107d9d372bb6826bd81d3542a419d6",
        },
    ],
    "due_at": "2026-11-28T02:00:00Z",
    "error": "HTTP 502 from https://deploy.example.com/api/releases",
}
SAMPLE_NAMES = {"pm_alice": "Alice (product)", "ops_carol": "Carol (ops)"}


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    language: str


# --- templates ---------------------------------------------------------------------------------


def default_sources(event: str, language: str) -> dict[str, str]:
    """The shipped template of `event` in `language`: {part: source}."""
    return {
        part: ENGINE.get_template(f"notify/messages/{language}/{event}.{suffix}").source
        for part, suffix in _SUFFIXES.items()
    }


def sources(event: str, language: str, row: NotificationTemplate | None) -> dict[str, str]:
    """The admin's version when there is one, else the default."""
    if row is None:
        return default_sources(event, language)
    return {part: getattr(row, part) for part in PARTS}


def render_part(source: str, part: str, context: dict) -> str:
    rendered = ENGINE.from_string(source).render(Context(context, autoescape=part == "html"))
    # A plain str, not Django's SafeString: a page that shows the message must escape it.
    rendered = str.__str__(rendered)
    if part == "subject":
        return " ".join(rendered.split())
    if part == "text":  # template tags leave blank lines and trailing spaces behind
        lines = "\n".join(line.rstrip() for line in rendered.splitlines())
        return re.sub(r"\n{3,}", "\n\n", lines).strip() + "\n"
    return rendered


def render_sources(parts: dict[str, str], context: dict, language: str) -> Message:
    rendered = {part: render_part(parts[part], part, context) for part in PARTS}
    return Message(language=language, **rendered)


def template_errors(event: str, language: str, parts: dict[str, str]) -> dict[str, list[str]]:
    """{part: [error]} for each part that does not render against the sample (none: usable)."""
    context = _sample_context(event, language)
    errors = {}
    for part in PARTS:
        try:
            rendered = render_part(parts[part], part, context)
        except Exception as error:  # any failure of an admin's template is shown, not raised
            errors[part] = [f"{type(error).__name__}: {error}"]
            continue
        if part == "subject" and not rendered:
            errors[part] = ["The subject is empty once rendered."]
    return errors


def sample_message(event: str, language: str, parts: dict[str, str]) -> Message:
    return render_sources(parts, _sample_context(event, language), language)


def _sample_context(event: str, language: str) -> dict:
    payload = {**SAMPLE_PAYLOAD, "event": event}
    return email_context(
        payload, language, recipient="Bob (test)", names=SAMPLE_NAMES, at=timezone.now()
    )


# --- deliveries --------------------------------------------------------------------------------


def render_emails(deliveries: list[Delivery]) -> list[Message | Exception]:
    """Each e-mail delivery as its recipient reads it, in a fixed number of queries; a delivery
    whose template fails on its payload (an admin's edit) gets the error instead, and the others
    are rendered all the same."""
    prefetch_related_objects(deliveries, "recipient__profile", "ticket__version")
    languages = {delivery.pk: recipient_language(delivery.recipient) for delivery in deliveries}
    edited = NotificationTemplate.objects.filter(
        event__in={delivery.event for delivery in deliveries}, language__in=set(languages.values())
    )
    rows = {(row.event, row.language): row for row in edited}
    names = display_names(
        name for d in deliveries for name in (d.payload.get("requester"), d.payload.get("actor"))
    )
    messages = []
    for delivery in deliveries:
        language = languages[delivery.pk]
        ticket = delivery.ticket
        context = email_context(
            delivery.payload,
            language,
            recipient=person(delivery.recipient) if delivery.recipient else delivery.address,
            names=names,
            definition=ticket.version.definition if ticket else None,
            at=delivery.created_at,
        )
        parts = sources(delivery.event, language, rows.get((delivery.event, language)))
        try:
            messages.append(render_sources(parts, context, language))
        except Exception as error:  # any failure of an admin's template is this delivery's
            messages.append(error)
    return messages


def recipient_language(user: AbstractBaseUser | None) -> str:
    try:
        return user.profile.language if user is not None else settings.LANGUAGE_CODE
    except ObjectDoesNotExist:  # users not made by do_save_user may have no profile yet
        return settings.LANGUAGE_CODE


def display_names(usernames: Iterable[str | None]) -> dict[str, str]:
    wanted = {name for name in usernames if name}
    if not wanted:
        return {}
    users = get_user_model().objects.filter(username__in=wanted).select_related("profile")
    return {user.get_username(): person(user) for user in users}


def email_context(
    payload: dict,
    language: str,
    *,
    recipient: str,
    names: dict[str, str],
    definition: engine.Definition | None = None,
    at: object = None,
) -> dict:
    """The template variables (VARIABLES): the payload, with texts in `language`, people by
    display name, times (`…_at` keys) in the server's time zone and an absolute link."""
    with translation.override(language), timezone.override(settings.TIME_ZONE):
        context = {k: _time(v) if k.endswith("_at") else v for k, v in payload.items()}
        context.update(
            recipient=recipient,
            service=localized(payload.get("service"), "", language),
            node_name=localized(payload.get("node_name"), payload.get("node") or "", language),
            requester=names.get(payload.get("requester"), payload.get("requester") or ""),
            actor=names.get(payload.get("actor"), payload.get("actor") or ""),
            url=settings.FLOWDESK_BASE_URL + payload.get("path", "/"),
            fields=[_field(field, definition, language) for field in payload.get("fields", [])],
            at=_time(at),
        )
    return context


def _field(field: dict, definition: engine.Definition | None, language: str) -> dict:
    key, value = field.get("key", ""), field.get("value")
    shown = field_value(definition, key, value) if definition else str(value)
    return {"key": key, "label": localized(field.get("label"), key, language), "value": shown}


def _time(value: object) -> object:
    """An ISO 8601 time (or a datetime) in the active time zone and language; else as it was."""
    try:
        moment = parse_datetime(value) if isinstance(value, str) else value
    except ValueError:  # looks like a time, is none (month 13)
        return value
    if not hasattr(moment, "tzinfo") or not timezone.is_aware(moment):
        return value
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")
