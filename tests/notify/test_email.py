"""E-mail notifications end to end: the seed scenario's actions write outbox rows, the outbox
sends them through Django's SMTP backend to a real SMTP server in the test process."""

from datetime import timedelta

import pytest
from django.utils import timezone

from flowdesk.directory.actions import do_save_user
from flowdesk.notify import outbox
from flowdesk.notify.email import DELIVERY_HEADER, message_id
from flowdesk.notify.models import Delivery
from flowdesk.tickets import actions
from tests.notify.conftest import BASE_URL, MD5, SUBMIT, TEST_PASS, todo

pytestmark = pytest.mark.django_db


def subject(mail) -> str:
    """The decoded subject (Python's parser keeps the blank of a folded first line)."""
    return " ".join(mail["Subject"].split())


def bodies(mail) -> tuple[str, str]:
    """(text, HTML) of a received multipart/alternative message."""
    text = mail.get_body(preferencelist=("plain",)).get_content()
    html = mail.get_body(preferencelist=("html",)).get_content()
    return text, html


def test_a_new_to_do_is_mailed_to_the_candidate_with_link_and_key_fields(smtp, submit):
    ticket = submit()
    assert outbox.send_due() == 1

    (mail,) = smtp.mails
    assert mail["X-Envelope-To"] == "test_bob@example.com"
    assert subject(mail) == (
        f"[Flowdesk] To do: {ticket.sn} Release server 2.4.1 – Test confirmation"
    )
    text, html = bodies(mail)
    link = f"{BASE_URL}/tickets/{ticket.sn}/"
    assert "Hello Bob (test)," in text
    assert "Alice (product)'s ticket" in text and "waiting for you" in text
    assert f"Open the ticket: {link}" in text and f'href="{link}"' in html
    assert f"Version package path: {SUBMIT['package_url']}" in text
    assert f"Package MD5: {MD5}" in text and MD5 in html
    # 02:00 UTC in the server's time zone (Asia/Shanghai in these tests).
    assert "Planned release time: Nov. 28, 2026, 10 a.m." in text
    delivery = Delivery.objects.get()
    assert mail[DELIVERY_HEADER] == delivery.key
    assert mail["Message-ID"] == message_id(delivery.key)
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 1
    assert message_id(delivery.key) in delivery.response


def test_each_recipient_reads_the_mail_in_their_own_language(smtp, submit, users):
    do_save_user("test_bob", language="zh-hans", actor=None)
    ticket = submit()
    do_save_user("pm_alice", language="en", actor=None)
    actions.do_complete_task(todo(users.test_bob, ticket), actor=users.test_bob, values=TEST_PASS)
    actions.do_reject_task(
        todo(users.ops_carol, ticket), actor=users.ops_carol, comment="No slot <this> week"
    )
    outbox.send_due()

    (bob,) = smtp.inbox.to("test_bob@example.com")
    assert subject(bob) == f"[Flowdesk] 待办：{ticket.sn} Release server 2.4.1 – 测试确认版本质量"
    text, html = bodies(bob)
    assert "Bob (test)，您好：" in text and "在「测试确认版本质量」步骤等待您处理" in text
    assert f"版本包路径：{SUBMIT['package_url']}" in text
    assert "计划发布时间：2026年11月28日 10:00" in text
    assert "版本包 MD5" in html

    alice = {subject(mail): mail for mail in smtp.inbox.to("pm_alice@example.com")}
    rejected = alice[f"[Flowdesk] Rejected: {ticket.sn} Release server 2.4.1"]
    text, html = bodies(rejected)
    assert "Carol (ops) rejected the step “Coordinate release resources”" in text
    assert "Comment: No slot <this> week" in text  # text is not HTML: not escaped
    assert "No slot &lt;this&gt; week" in html and "<this>" not in html
    # The rejection returns the ticket to her: a to-do of her own, in English too.
    assert f"[Flowdesk] To do: {ticket.sn} Release server 2.4.1 – Submit release request" in alice


def test_the_mail_server_down_while_a_ticket_moves_delays_the_mail_once(smtp, submit):
    smtp.stop()
    submit()
    assert outbox.send_due() == 0
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.PENDING and delivery.attempts == 1
    assert "Connection refused" in delivery.last_error
    assert delivery.next_attempt_at > delivery.created_at

    smtp.start()
    assert outbox.send_due() == 0  # the retry is not due yet
    assert smtp.mails == []
    make_due()
    assert outbox.send_due() == 1
    assert outbox.send_due() == 0
    (mail,) = smtp.mails
    assert mail[DELIVERY_HEADER] == delivery.key
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT and delivery.attempts == 2
    assert delivery.last_error == ""


def test_a_resend_after_a_lost_outcome_is_the_same_message(smtp, submit):
    """A worker that dies between sending and recording leaves the row pending: the next
    attempt sends again, with the same Message-ID, so mail clients show it once."""
    submit()
    (claimed,) = outbox.claim()
    outbox.SENDERS[claimed.channel](claimed)  # sent, then the worker died
    make_due(leases=True)
    assert outbox.send_due() == 1
    first, second = smtp.mails
    assert first["Message-ID"] == second["Message-ID"] == message_id(claimed.key)
    assert bodies(first) == bodies(second)


def test_after_the_last_attempt_the_delivery_is_failed(smtp, submit):
    smtp.stop()
    submit()
    for _attempt in range(outbox.MAX_ATTEMPTS):
        make_due()
        outbox.send_due()
    delivery = Delivery.objects.get()
    assert delivery.status == Delivery.Status.FAILED
    assert delivery.attempts == outbox.MAX_ATTEMPTS
    make_due()
    assert outbox.send_due() == 0  # failed rows wait for an admin


def test_a_user_without_e_mail_address_gets_no_delivery(smtp, submit):
    do_save_user("test_bob", email="", actor=None)
    submit()
    assert not Delivery.objects.exists()


def test_the_embedded_mode_prints_the_mail_and_keeps_it(settings, submit, capsys):
    settings.EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
    submit()
    assert outbox.send_due() == 1
    printed = capsys.readouterr().out
    delivery = Delivery.objects.get()
    assert f"{DELIVERY_HEADER}: {delivery.key}" in printed
    assert "To: test_bob@example.com" in printed
    assert delivery.status == Delivery.Status.SENT


def make_due(leases: bool = False) -> None:
    """Move the clock past every retry pause (and, with `leases`, past every lease)."""
    past = timezone.now() - timedelta(seconds=1)
    Delivery.objects.update(next_attempt_at=past, **({"leased_until": past} if leases else {}))
