"""What admins do with the outbox and the templates, through the actions: "retry now", edited
and reset templates (used by the sender, refused when they do not render), all audited."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from flowdesk.audit.models import AuditEntry
from flowdesk.notify import outbox
from flowdesk.notify.actions import do_reset_template, do_retry_delivery, do_save_template
from flowdesk.notify.models import EVENTS, Delivery, NotificationTemplate
from flowdesk.notify.rendering import default_sources, template_errors
from flowdesk.notify.rules import notify
from flowdesk.tickets import actions
from tests.notify.conftest import TEST_PASS, todo

pytestmark = pytest.mark.django_db
User = get_user_model()

EDITED = {
    "subject": "Bitte prüfen: {{ serial }}",
    "text": "Hallo {{ recipient }}, {{ url }}",
    "html": "<p>Hallo {{ recipient }}</p>",
}


def make_due() -> None:
    Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))


def fail_for_good(smtp, submit) -> Delivery:
    """A to-do mail that failed every attempt while the mail server was down."""
    smtp.stop()
    submit()
    for _attempt in range(outbox.MAX_ATTEMPTS):
        make_due()
        outbox.send_due()
    smtp.start()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    return delivery


def audit(action: str) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=action).order_by("seq"))


def test_retry_now_sends_a_failed_delivery_as_soon_as_it_commits(
    smtp, submit, users, request, django_capture_on_commit_callbacks
):
    delivery = fail_for_good(smtp, submit)
    request.getfixturevalue("immediate_tasks")  # the woken worker runs at once, in this process
    with django_capture_on_commit_callbacks(execute=True):
        do_retry_delivery(delivery, actor=users.admin)
        assert smtp.mails == []  # nothing before the commit
    (mail,) = smtp.mails
    assert mail["X-Flowdesk-Delivery"] == delivery.key
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
    assert delivery.attempts == outbox.MAX_ATTEMPTS + 1
    (entry,) = audit("delivery.retried")
    assert entry.actor_name == "admin" and entry.obj_id == delivery.key
    assert entry.data["status"] == "failed" and "Connection refused" in entry.data["last_error"]


def test_a_retried_delivery_that_fails_again_is_failed_again(smtp, submit, users):
    delivery = fail_for_good(smtp, submit)
    smtp.stop()
    do_retry_delivery(delivery, actor=users.admin)
    assert Delivery.objects.get().status == Delivery.Status.PENDING
    outbox.send_due()
    assert Delivery.objects.get().status == Delivery.Status.FAILED


def test_retry_is_for_admins_and_unsent_deliveries(smtp, submit, users):
    submit()
    delivery = Delivery.objects.get()
    with pytest.raises(PermissionDenied):
        do_retry_delivery(delivery, actor=users.pm_alice)
    outbox.send_due()
    with pytest.raises(ValidationError, match="was sent already"):
        do_retry_delivery(delivery, actor=users.admin)
    assert audit("delivery.retried") == []


def test_an_edited_template_is_sent_until_it_is_reset(smtp, submit, users):
    do_save_template("task_opened", "en", **EDITED, actor=users.admin)
    ticket = submit()
    outbox.send_due()
    assert smtp.mails[-1]["Subject"] == f"Bitte prüfen: {ticket.sn}"
    (saved,) = audit("notification_template.saved")
    assert saved.obj_id == "task_opened/en" and saved.data["created"] is True
    assert saved.data["after"]["subject"] == EDITED["subject"]

    assert do_reset_template("task_opened", "en", actor=users.admin) is True
    assert not NotificationTemplate.objects.exists()
    (reset,) = audit("notification_template.reset")
    assert reset.data["before"]["html"] == EDITED["html"]
    assert do_reset_template("task_opened", "en", actor=users.admin) is False  # nothing to do
    assert len(audit("notification_template.reset")) == 1

    submit("Release server 2.4.2")
    outbox.send_due()
    assert "To do:" in smtp.mails[-1]["Subject"]


def test_saving_a_template_unchanged_writes_nothing(users):
    do_save_template("finished", "zh-hans", **EDITED, actor=users.admin)
    crlf = {**EDITED, "text": EDITED["text"] + "\r\n"}
    do_save_template("finished", "zh-hans", **crlf, actor=users.admin)  # a browser's line break
    do_save_template("finished", "zh-hans", **crlf, actor=users.admin)
    assert NotificationTemplate.objects.get().text == EDITED["text"] + "\n"
    assert len(audit("notification_template.saved")) == 2


@pytest.mark.parametrize(
    ("part", "source", "error"),
    [
        ("subject", "{% if %}", "TemplateSyntaxError"),
        ("subject", "{{ missing }}", "The subject is empty once rendered."),
        ("html", '{% extends "web/base.html" %}', "TemplateDoesNotExist"),  # only message files
        ("html", '{% include "/etc/passwd" %}', "TemplateDoesNotExist"),
        ("text", "{% load fd %}{{ serial }}", "'fd' is not a registered tag library"),
        ("text", "{% url 'no-such-page' %}", "NoReverseMatch"),  # fails when rendered
    ],
)
def test_a_template_that_does_not_render_is_refused_with_the_reason(users, part, source, error):
    with pytest.raises(ValidationError) as refused:
        do_save_template("approved", "en", **{**EDITED, part: source}, actor=users.admin)
    assert list(refused.value.message_dict) == [part]
    assert error in refused.value.message_dict[part][0]
    assert not NotificationTemplate.objects.exists()
    assert audit("notification_template.saved") == []


def test_templates_are_for_admins_and_known_events(users):
    with pytest.raises(PermissionDenied):
        do_save_template("approved", "en", **EDITED, actor=users.pm_alice)
    with pytest.raises(ValidationError, match="No event 'approve'"):
        do_save_template("approve", "en", **EDITED, actor=users.admin)
    with pytest.raises(ValidationError, match="No language 'de'"):
        do_reset_template("approved", "de", actor=users.admin)


def test_a_value_cannot_add_a_header_through_the_subject(smtp, submit, users):
    do_save_template(
        "rejected", "en", **{**EDITED, "subject": "Rejected: {{ comment }}"}, actor=users.admin
    )
    ticket = submit()
    actions.do_complete_task(todo(users.test_bob, ticket), actor=users.test_bob, values=TEST_PASS)
    carol = users.ops_carol
    actions.do_reject_task(todo(carol, ticket), actor=carol, comment="No\nBcc: evil@example.com")
    outbox.send_due()
    (rejected,) = [mail for mail in smtp.mails if "Rejected" in mail["Subject"]]
    assert rejected["Bcc"] is None
    assert " ".join(rejected["Subject"].split()) == "Rejected: No Bcc: evil@example.com"
    assert {mail["X-Envelope-To"] for mail in smtp.mails} == {
        "test_bob@example.com",
        "ops_carol@example.com",
        "pm_alice@example.com",
    }


def test_a_template_that_fails_on_a_real_ticket_fails_its_delivery_visibly(smtp, submit, users):
    # Renders for the sample ticket; for any other title it includes a template that is not there.
    html = '{% if title != "Release server 2.4.1" %}{% include "notify/nope.html" %}{% endif %}'
    do_save_template("task_opened", "en", **{**EDITED, "html": html}, actor=users.admin)
    submit("Hotfix 2.4.2")
    assert outbox.send_due() == 0
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.last_error == "TemplateDoesNotExist: notify/nope.html"
    assert smtp.mails == []


def test_every_event_has_a_default_template_in_every_language(settings):
    for event, _label in EVENTS:
        for language, _name in settings.LANGUAGES:
            assert template_errors(event, language, default_sources(event, language)) == {}


def test_a_template_failing_on_one_delivery_of_a_batch_fails_that_delivery_only(
    smtp, submit, users
):
    # The e-mails of a batch are rendered together; the one whose ticket breaks the template
    # fails on its own, the other is sent in the same sweep.
    html = '{% if title != "Release server 2.4.1" %}{% include "notify/nope.html" %}{% endif %}'
    do_save_template("task_opened", "en", **{**EDITED, "html": html}, actor=users.admin)
    submit("Hotfix 2.4.2")
    submit("Release server 2.4.1")
    assert outbox.send_due() == 1
    failed, sent = Delivery.objects.order_by("pk")
    assert (failed.status, failed.last_error) == (
        Delivery.Status.PENDING,
        "TemplateDoesNotExist: notify/nope.html",
    )
    assert sent.status == Delivery.Status.SENT
    assert [mail["Subject"] for mail in smtp.mails] == [f"Bitte prüfen: {sent.ticket.sn}"]


def test_a_batch_of_e_mails_reads_the_same_whatever_its_size(smtp, submit, users):
    """Rendering a batch costs a fixed number of queries; each e-mail adds only its own two
    writes (the lease renewed before the send, the outcome after it)."""
    ticket = submit()
    outbox.send_due()
    people = list(
        User.objects.exclude(email="").order_by("username").values_list("username", flat=True)
    )
    assert len(people) >= 6

    def queries_to_send(count: int, key: str) -> int:
        notify(ticket, "task_opened", people[:count], node="test_confirm", key=key)
        with CaptureQueriesContext(connection) as queries:
            assert outbox.send_due() == count
        return len(queries)

    assert queries_to_send(6, "six") - queries_to_send(2, "two") == 2 * (6 - 2)
