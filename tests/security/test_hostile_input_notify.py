"""Hostile input through the notification, calendar and automation doors: the e-mail template
editor, the chat/webhook endpoint form, the work-calendar form, the outbox filters, skipping or
completing an automation step by hand (web and API) and the signed automation callback; and
what e-mails and chat/webhook payloads make of a ticket holding hostile values.

As in test_hostile_input: never a server error; a refused value gets a 4xx or a field error and
nothing is stored; what is stored is rendered escaped wherever it is shown.
"""

import html
import json
from urllib.parse import quote, urlsplit

import pytest
from django.core import mail
from django.test import Client

from flowdesk.automation.models import AutomationRun
from flowdesk.automation.signing import sign
from flowdesk.notify.actions import do_save_endpoint, do_save_template
from flowdesk.notify.endpoints import signed_request
from flowdesk.notify.models import Delivery, Endpoint, NotificationTemplate
from flowdesk.notify.outbox import send_due
from flowdesk.sla.models import WorkCalendar
from flowdesk.tickets.actions import do_submit_ticket, do_urge_ticket
from flowdesk.tickets.models import Event, Ticket
from tests.automation.conftest import (  # noqa: F401  (system: the fake system's fixture)
    SECRETS,
    Reply,
    automation_service,
    run_of,
    system,
    unstarted_run,
    work,
)
from tests.factories import deploy_service, global_workflow
from tests.security.test_hostile_input import (
    IMG,
    JAVASCRIPT_URLS,
    LONG,
    REVIEW,
    SCRIPT,
    SQL,
    UNICODE,
    UNSTORABLE,
    XSS,
    api_for,
    assert_escaped,
    assert_rendered_safely,
    client_for,
)

pytestmark = pytest.mark.django_db

NOTIFY = "/manage/notifications"
MARKDOWN = "Upgrade [click](javascript:alert(1)) ![x](http://evil.example/x.png) **b** `c`"
HEADER = "Release\r\nBcc: victim@example.com"
CHAT_KINDS = ["wecom", "dingtalk", "feishu", "slack"]


def admin_page(users, path: str) -> str:
    response = client_for(users.admin).get(path)
    assert response.status_code == 200, (path, response.status_code)
    page = response.content.decode()
    assert_escaped(page, path)
    return page


# --- a ticket with hostile values, mailed and posted to every kind of chat --------------------


def hostile_workflow() -> dict:
    """submit → review (test_bob) → done; notifications by e-mail and chat; hostile labels."""
    return global_workflow(
        "hostile-notify",
        **REVIEW,
        start_fields=["scope", "link"],
        fields=[
            {"key": "scope", "type": "text", "label": f"Scope {IMG}"},
            {"key": "link", "type": "url", "label": "Link"},
        ],
        settings={"notify": ["email", "chat"]},
    )


@pytest.fixture
def mailed(demo, users, settings):
    """Every chat kind and a JSON webhook listen; a ticket with hostile title, fields and an
    urge comment is submitted: its deliveries are in the outbox."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for kind in [*CHAT_KINDS, "webhook"]:
        secret = "s3cret" if kind == "webhook" else ""
        do_save_endpoint(
            None, name=kind, kind=kind, url="https://chat.example/hook", secret=secret, actor=None
        )
    service = deploy_service(hostile_workflow())
    values = {"scope": f"{SCRIPT}\n{MARKDOWN}", "link": "https://example.com/?q=<b>"}
    ticket = do_submit_ticket(
        service, actor=users.pm_alice, title=f"{IMG} {MARKDOWN}", values=values
    )
    do_urge_ticket(ticket, actor=users.pm_alice, comment=f"{SCRIPT} {SQL[1]}")
    return ticket


def test_e_mails_escape_hostile_values_in_html_and_keep_them_intact_in_text(mailed, users):
    send_due()
    assert {m.to[0] for m in mail.outbox} == {users.test_bob.email}
    assert len(mail.outbox) >= 2  # the new to-do and the urge
    for message in mail.outbox:
        ((body, _type),) = message.alternatives
        assert_escaped(body, message.subject)
        assert "&lt;img src=x onerror" in body
        assert IMG in message.body  # the text body is not HTML: as typed
    urged = next(m for m in mail.outbox if SQL[1] in m.body)
    assert SCRIPT in urged.body and "&lt;script&gt;" in urged.alternatives[0][0]


def test_a_hostile_title_cannot_add_a_mail_header(demo, users, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    service = deploy_service(hostile_workflow())
    do_submit_ticket(service, actor=users.pm_alice, title=HEADER, values={})  # kept as typed
    send_due()
    (message,) = mail.outbox
    assert "\n" not in message.subject and "\r" not in message.subject
    headers = message.message()
    assert headers["Bcc"] is None and message.recipients() == [users.test_bob.email]


def test_the_e_mail_pages_show_hostile_mails_escaped(mailed, users):
    assert_mail_pages_escaped(users)


def assert_mail_pages_escaped(users) -> None:
    """The e-mail page, and each e-mail delivery's page, escape; so does the HTML body they
    show in a sandboxed frame."""
    page = admin_page(users, f"{NOTIFY}/emails/")
    frames = [html.unescape(part.split('"', 1)[0]) for part in page.split('srcdoc="')[1:]]
    assert frames, "no HTML body shown"
    for frame in frames:  # what the sandboxed frame renders: the mail's own HTML
        assert_escaped(frame, "srcdoc")
    for delivery in Delivery.objects.filter(channel=Delivery.Channel.EMAIL):
        admin_page(users, f"{NOTIFY}/outbox/{delivery.pk}/")


def test_an_admin_s_template_still_escapes_ticket_values(mailed, users):
    source = "<p>{{ title }}</p>{% for f in fields %}<i>{{ f.label }}={{ f.value }}</i>{% endfor %}"
    for event in ("task_opened", "urged"):
        do_save_template(
            event,
            "en",
            subject="{{ title }}",
            html=source + "{{ comment }}",
            text="{{ title }}",
            actor=None,
        )
    send_due()
    for message in mail.outbox:
        assert_escaped(message.alternatives[0][0], message.subject)
        assert "\n" not in message.subject
    assert_mail_pages_escaped(users)


@pytest.mark.parametrize("kind", [*CHAT_KINDS, "webhook"])
def test_chat_and_webhook_payloads_of_hostile_values_are_valid_json(mailed, kind):
    deliveries = Delivery.objects.filter(endpoint__kind=kind)
    assert deliveries
    for delivery in deliveries:
        _url, _headers, body = signed_request(delivery.endpoint, delivery)
        assert json.loads(body) == json.loads(json.dumps(delivery.payload))
        if kind in ("wecom", "dingtalk", "feishu"):
            text = json.dumps(delivery.payload, ensure_ascii=False)
            # the one link is Flowdesk's own; user text makes no link, image or tag
            assert text.count("](") == (0 if kind == "feishu" else 1), text
            assert "<" not in text and "![" not in text, text
        if kind == "slack":
            for block in delivery.payload["blocks"]:
                for part in [block.get("text", {}), *block.get("fields", [])]:
                    if part.get("type") == "mrkdwn":
                        assert "<" not in part["text"] and ">" not in part["text"], part


# --- the e-mail template editor ------------------------------------------------------------------

TEMPLATE = f"{NOTIFY}/templates/task_opened/en/"
GOOD_TEMPLATE = {"subject": "{{ serial }}", "text": "{{ title }}", "html": "<p>{{ title }}</p>"}


@pytest.mark.parametrize(
    "source",
    [
        "{% load static %}{% static 'x' %}",
        '{% include "/etc/passwd" %}',
        '{% include "../../settings.py" %}',
        '{% extends "web/base.html" %}',
        "{{ 7*7 }}",
        "{% if %}",
        "{{ title|nosuchfilter }}",
        "a\x00b",
        LONG * 100,
    ],
)
def test_template_sources_that_do_not_render_or_reach_beyond_are_refused(users, source):
    admin = client_for(users.admin)
    for part in ("subject", "text", "html"):
        response = admin.post(TEMPLATE, {**GOOD_TEMPLATE, part: source})
        if part != "subject" and source == LONG * 100:
            assert response.status_code == 302  # a long body is no problem
            NotificationTemplate.objects.all().delete()
            continue
        assert response.status_code == 200, (part, response.status_code)
        assert response.context["form"].errors[part], part
        assert_escaped(response.content.decode(), part)
    assert not NotificationTemplate.objects.exists()


@pytest.mark.parametrize("subject", [HEADER, f"{SCRIPT} {{{{ title }}}}", *UNICODE])
def test_hostile_template_text_is_stored_and_previewed_escaped(users, subject):
    admin = client_for(users.admin)
    data = {"subject": subject, "text": SCRIPT, "html": f"<p>{{{{ comment }}}}</p>{IMG}"}
    response = admin.post(TEMPLATE, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    row = NotificationTemplate.objects.get()
    assert row.subject == subject.replace("\r\n", "\n") and row.text == SCRIPT
    page = admin_page(users, TEMPLATE)
    preview = page.split("fd-msg-preview", 1)[0]
    assert "\n" not in preview.rsplit('fw-semibold">', 1)[1].split("</dd>", 1)[0]


def test_template_secrets_and_objects_are_out_of_reach(users, settings):
    source = "{{ settings.SECRET_KEY }}{{ request.user }}{{ fields.__class__ }}{% debug %}"
    response = client_for(users.admin).post(TEMPLATE, {**GOOD_TEMPLATE, "html": source})
    assert response.status_code in {200, 302}
    page = admin_page(users, TEMPLATE)
    assert settings.SECRET_KEY not in page


@pytest.mark.parametrize("event, language", [(SCRIPT, "en"), ("task_opened", IMG), (SQL[0], "x")])
def test_unknown_template_keys_are_not_found(users, event, language):
    path = f"{NOTIFY}/templates/{quote(event, safe='')}/{quote(language, safe='')}/"
    admin = client_for(users.admin)
    assert admin.get(path).status_code == 404
    assert admin.post(path, GOOD_TEMPLATE).status_code == 404
    assert not NotificationTemplate.objects.exists()


# --- chat and webhook endpoints --------------------------------------------------------------

ENDPOINT = {
    "name": "ops",
    "kind": "webhook",
    "url": "https://hooks.example.com/flowdesk",
    "secret": "s3cret",
    "service": "",
    "events": "submitted, completed",
    "is_active": "on",
}


def save_endpoint(users, **changes: object):
    return client_for(users.admin).post(f"{NOTIFY}/endpoints/new/", {**ENDPOINT, **changes})


@pytest.mark.parametrize("name", XSS + SQL + UNICODE)
def test_hostile_endpoint_names_are_stored_and_shown_escaped(users, name):
    response = save_endpoint(users, name=name, secret=f"{SCRIPT}{SQL[0]}")
    assert response.status_code == 302, response.content.decode()[:2000]
    endpoint = Endpoint.objects.get()
    assert endpoint.name == name.strip()
    edit = admin_page(users, f"{NOTIFY}/endpoints/{endpoint.pk}/")
    assert SQL[0] not in edit  # the secret is never shown back
    client_for(users.admin).post(f"{NOTIFY}/endpoints/{endpoint.pk}/test/")
    for path in ("/endpoints/", f"/endpoints/{endpoint.pk}/deliveries/", "/", "/health/"):
        admin_page(users, NOTIFY + path)
    admin_page(users, "/audit/")


@pytest.mark.parametrize(
    "changes",
    [
        *({"url": url} for url in JAVASCRIPT_URLS),
        {"url": "https://a.example/\r\nX-Injected: 1"},
        {"url": SCRIPT},
        {"url": "https://" + LONG},
        {"name": LONG},
        {"name": ""},
        {"name": "a\x00b"},
        {"secret": "a\x00b"},
        {"secret": LONG},
        {"secret": ""},  # a JSON webhook needs one
        {"kind": SCRIPT},
        {"kind": "slack", "secret": "unused"},
        {"events": f"submitted, {SCRIPT}"},
        {"events": SQL[1]},
        {"events": LONG},
        {"service": SQL[0]},
        {"service": IMG},
    ],
    ids=lambda value: repr(value)[:50],
)
def test_invalid_endpoint_input_is_a_field_error_and_nothing_is_stored(users, changes):
    response = save_endpoint(users, **changes)
    assert response.status_code == 200, response.status_code
    form = response.context["form"]
    assert form.errors, changes
    assert set(form.errors) <= set(ENDPOINT) | {"__all__"}
    assert_escaped(response.content.decode(), changes)
    assert not Endpoint.objects.exists()


def test_a_refused_change_leaves_the_endpoint_as_it_was(users):
    assert save_endpoint(users).status_code == 302
    endpoint = Endpoint.objects.get()
    response = client_for(users.admin).post(
        f"{NOTIFY}/endpoints/{endpoint.pk}/",
        {**ENDPOINT, "name": SCRIPT, "url": "javascript:alert(1)"},
    )
    assert response.status_code == 200 and response.context["form"].errors["url"]
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.url) == ("ops", ENDPOINT["url"])


# --- work calendars ------------------------------------------------------------------------------

CALENDAR = {
    "name": "office",
    "timezone": "Europe/Berlin",
    "weekdays": ["0", "1", "2", "3", "4"],
    "start": "09:00",
    "end": "18:00",
    "holidays": "2026-12-25\n2026-12-26",
}


@pytest.mark.parametrize(
    "changes",
    [
        *({"name": value} for value in [SCRIPT, SQL[0], "a\x00b", LONG, UNICODE[0], ""]),
        *(
            {"timezone": value}
            for value in [SCRIPT, "../../etc/passwd", "UTC\x00", LONG, SQL[1], "", UNICODE[2]]
        ),
        *({"weekdays": value} for value in [["7"], ["-1"], ["x"], [SCRIPT], ["1e308"], []]),
        *({"start": value} for value in ["25:00", SCRIPT, "9:00\x00", LONG]),
        {"start": "18:00", "end": "09:00"},
        *(
            {"holidays": value}
            for value in ["2026-02-30", SCRIPT, SQL[0], "2026-13-01", LONG, "12/25/2026"]
        ),
    ],
    ids=lambda value: repr(value)[:50],
)
def test_invalid_calendar_input_is_a_field_error_and_nothing_is_stored(users, changes):
    admin = client_for(users.admin)
    response = admin.post("/manage/calendars/new/", {**CALENDAR, **changes})
    assert response.status_code == 200, response.status_code
    assert response.context["form"].errors, changes
    assert_escaped(response.content.decode(), changes)
    assert not WorkCalendar.objects.exists()


def test_a_refused_calendar_change_leaves_it_as_it_was(users):
    admin = client_for(users.admin)
    assert admin.post("/manage/calendars/new/", CALENDAR).status_code == 302
    response = admin.post("/manage/calendars/office/", {**CALENDAR, "timezone": SCRIPT})
    assert response.status_code == 200 and response.context["form"].errors["timezone"]
    assert WorkCalendar.objects.get().timezone == "Europe/Berlin"
    admin_page(users, "/manage/calendars/")
    admin_page(users, "/manage/calendars/office/")
    assert admin.get(f"/manage/calendars/{quote(SCRIPT, safe='')}/").status_code == 404


# --- the outbox filters --------------------------------------------------------------------------

FILTER_VALUES = [*XSS, *SQL, *UNICODE, *UNSTORABLE, LONG, ""]


@pytest.mark.parametrize("param", ["status", "channel", "event", "ticket", "page"])
def test_hostile_outbox_filters_are_no_server_error_and_shown_escaped(mailed, users, param):
    for page in ("/", "/emails/"):
        for value in FILTER_VALUES:
            # lone surrogates percent-encoded as a hostile client sends them
            sent = quote(value.encode(errors="surrogatepass"))
            admin_page(users, f"{NOTIFY}{page}?{param}={sent}")
        admin_page(users, f"{NOTIFY}{page}?{param}=a&{param}={quote(SCRIPT)}")  # repeated


# --- automation: skip and complete by hand -------------------------------------------------------


@pytest.fixture
def automation_settings(settings):
    """The step's callback secret, and calls to the fake system on this machine allowed."""
    settings.FLOWDESK_SECRETS = dict(SECRETS)
    settings.FLOWDESK_AUTOMATION_ALLOWED_HOSTS = []


@pytest.fixture
def run(users, automation_settings) -> AutomationRun:
    """An open automation run of pm_alice's ticket; its step's operator is ops_frank."""
    return unstarted_run(users.pm_alice)


def step_page(run: AutomationRun, action: str) -> str:
    return f"/tickets/{run.ticket.sn}/automation/{run.pk}/{action}/"


def unchanged(run: AutomationRun) -> None:
    """The step was not passed: the run is open and nothing was recorded about it."""
    run.refresh_from_db()
    assert run.status == AutomationRun.Status.RUNNING, run.status
    kinds = Event.objects.filter(ticket=run.ticket).values_list("kind", flat=True)
    assert not {"automation_skipped", "completed"} & set(kinds)


@pytest.mark.parametrize("reason", [SCRIPT, IMG, SQL[1], UNICODE[0], UNICODE[2]])
@pytest.mark.parametrize("action", ["skip", "complete"])
def test_hostile_reasons_from_the_web_are_stored_and_escaped(run, users, reason, action):
    data = {"reason": reason, "deploy_id": SCRIPT, "note": IMG}
    response = client_for(users.ops_frank).post(step_page(run, action), data)
    assert response.status_code == 302
    ticket = Ticket.objects.get(pk=run.ticket_id)
    event = ticket.events.get(kind="automation_skipped" if action == "skip" else "completed")
    assert event.data["comment"] == reason.strip()
    if action == "complete":
        assert ticket.values["deploy_id"] == SCRIPT
    assert_rendered_safely(users, ticket)


@pytest.mark.parametrize("reason", ["", "   ", LONG, "a\x00b"])
@pytest.mark.parametrize("action", ["skip", "complete"])
def test_missing_overlong_or_unstorable_reasons_from_the_web_are_refused(
    run, users, reason, action
):
    web = client_for(users.ops_frank)
    response = web.post(step_page(run, action), {"reason": reason}, follow=True)
    assert response.status_code == 200
    (message,) = [str(m) for m in response.context["messages"]]
    assert message.startswith("Nothing was saved"), message
    unchanged(run)


@pytest.mark.parametrize("value", ["a\x00b", LONG * 10])
def test_unstorable_or_overlong_step_fields_from_the_web_are_refused(run, users, value):
    response = client_for(users.ops_frank).post(
        step_page(run, "complete"), {"reason": "by hand", "deploy_id": value}, follow=True
    )
    assert response.status_code == 200
    (message,) = [str(m) for m in response.context["messages"]]
    if message.startswith("Nothing was saved"):
        unchanged(run)
    else:  # a long text is a valid value: stored as sent
        assert Ticket.objects.get(pk=run.ticket_id).values["deploy_id"] == value


@pytest.mark.parametrize("action", [SCRIPT, "delete", "..%2f"])
def test_unknown_automation_actions_are_not_found(run, users, action):
    response = client_for(users.admin).post(step_page(run, quote(action, safe="")), {"reason": "x"})
    assert response.status_code == 404
    unchanged(run)


@pytest.mark.parametrize("reason", [SCRIPT, IMG, SQL[0], UNICODE[1]])
def test_hostile_reasons_and_fields_through_the_api_are_stored_and_escaped(run, users, reason):
    api = api_for(users.ops_frank)
    body = {"reason": reason, "fields": {"deploy_id": SCRIPT, "note": IMG}}
    response = api.post(f"/api/v1/automation-runs/{run.pk}/complete/", body, format="json")
    assert response.status_code == 200, response.content
    ticket = Ticket.objects.get(pk=run.ticket_id)
    assert ticket.values["note"] == IMG
    assert_rendered_safely(users, ticket)


@pytest.mark.parametrize(
    "body",
    [
        [],
        "a string",
        {"reason": {"a": 1}},
        {"reason": ["x"]},
        {"reason": None},
        {"reason": ""},
        {"reason": LONG},
        {"reason": "a\x00b"},
        {"reason": "ok", "fields": "x"},
        {"reason": "ok", "fields": []},
        {"reason": "ok", "fields": {"deploy_id": {"$ne": 1}}},
        {"reason": "ok", "fields": {"deploy_id": [[1]]}},
        {"reason": "ok", "fields": {"deploy_id": LONG * 10}},
    ],
    ids=lambda value: repr(value)[:50],
)
@pytest.mark.parametrize("action", ["skip", "complete"])
def test_wrong_types_to_the_automation_api_are_refused(run, users, action, body):
    api = api_for(users.ops_frank)
    path = f"/api/v1/automation-runs/{run.pk}/{action}/"
    response = api.post(path, json.dumps(body), content_type="application/json")
    if action == "skip" and isinstance(body, dict) and "fields" in body:
        assert response.status_code in {200, 400}  # skip takes no fields: ignored
        return
    if body == {"reason": "ok", "fields": {"deploy_id": LONG * 10}}:
        assert response.status_code in {200, 400}, response.content  # stored as sent, or refused
        return
    assert response.status_code == 400, response.content
    unchanged(run)


# --- the automation callback ------------------------------------------------------------------


@pytest.fixture
def waiting(system, automation_settings, users):  # noqa: F811  (pytest's fixture, imported above)
    """A ticket whose step called the fake system and waits; (run, callback path)."""
    system.reply("/jobs", Reply(202, {"accepted": True}))
    service = automation_service(
        "hostile-callback",
        {
            "action": "http",
            "request": {"url": system.url + "/jobs", "body": {"cb": "{{ callback_url }}"}},
            "wait": "callback",
            "callback": {"secret": "CALLBACK_KEY", "timeout": "1h"},
        },
    )
    ticket = do_submit_ticket(service, actor=users.pm_alice, title="Release", values={})
    waiting_run = work(run_of(ticket))
    assert waiting_run.status == AutomationRun.Status.WAITING_CALLBACK
    return waiting_run, urlsplit(json.loads(system.seen[0].body)["cb"]).path


def callback(path: str, raw: bytes, *, signed: bool = True):
    headers = {"HTTP_X_FLOWDESK_SIGNATURE": sign(SECRETS["CALLBACK_KEY"], raw)} if signed else {}
    return Client().post(path, raw, content_type="application/json", **headers)


def still_waiting(run: AutomationRun) -> None:
    run.refresh_from_db()
    assert run.status == AutomationRun.Status.WAITING_CALLBACK and not run.error


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b'"a string"',
        b"1",
        b"null",
        b"{not json",
        b"\xff\xfe\x00",
        DEEP,
        b'{"outcome": "a\\u0000b"}',
        b'{"outcome": "success", "fields": {"note": "a\\u0000b"}}',
        b'{"outcome": "failure", "message": "lone \\ud800"}',
        b'{"outcome": "success", "fields": {"note": NaN}}',
        *(
            json.dumps(body).encode()
            for body in [
                {"outcome": ["success"]},
                {"outcome": SCRIPT},
                {"outcome": None},
                {"outcome": "success", "fields": "x"},
                {"outcome": "success", "fields": [1]},
                {"outcome": "success", "fields": {"deploy_id": {"$ne": 1}}},
                {"outcome": "success", "fields": {"nope": SCRIPT}},
                {"outcome": "failure", "message": {"a": 1}},
                {"outcome": "failure", "message": LONG},
            ]
        ),
    ],
    ids=lambda raw: repr(raw[:60]),
)
def test_hostile_callback_bodies_are_refused_and_change_nothing(waiting, raw):
    run, path = waiting
    response = callback(path, raw)
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    still_waiting(run)


def test_a_huge_callback_body_is_refused(waiting, settings):
    run, path = waiting
    body = {"outcome": "failure", "message": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)}
    response = callback(path, json.dumps(body).encode())
    assert 400 <= response.status_code < 500, response.status_code
    still_waiting(run)


def test_unsigned_or_unknown_callbacks_change_nothing(waiting):
    run, path = waiting
    raw = json.dumps({"outcome": "failure", "message": SCRIPT}).encode()
    assert callback(path, raw, signed=False).status_code == 403
    for token in (SCRIPT, SQL[0], "a\x00b", LONG):
        assert callback(f"/api/v1/callbacks/{quote(token, safe='')}/", raw).status_code == 404
    still_waiting(run)


@pytest.mark.parametrize("payload", [SCRIPT, IMG, SQL[1], UNICODE[0]])
def test_hostile_callback_values_are_stored_and_escaped(waiting, users, payload):
    run, path = waiting
    body = {"outcome": "success", "fields": {"deploy_id": payload, "note": payload}}
    response = callback(path, json.dumps(body).encode())
    assert response.status_code == 200, response.content
    ticket = Ticket.objects.get(pk=run.ticket_id)
    assert ticket.values["note"] == payload
    assert_rendered_safely(users, ticket)


def test_a_hostile_failure_message_is_stored_and_escaped(waiting, users, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    run, path = waiting
    body = {"outcome": "failure", "message": f"{SCRIPT}\r\nBcc: x@example.com {IMG}"}
    assert callback(path, json.dumps(body).encode()).status_code == 200
    run.refresh_from_db()
    assert SCRIPT in run.error
    assert_rendered_safely(users, Ticket.objects.get(pk=run.ticket_id))
    send_due()
    for message in mail.outbox:
        assert_escaped(message.alternatives[0][0], message.subject)
        assert "\n" not in message.subject and message.message()["Bcc"] is None
