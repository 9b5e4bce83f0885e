"""The notification pages: only admins get in; the outbox list filters and pages; a delivery
shows its message and can be retried; templates are edited (a bad one is refused beside its
field) and reset; health figures as a page and as JSON for monitoring."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from flowdesk.api.actions import do_create_token
from flowdesk.audit.models import AuditEntry
from flowdesk.directory.actions import do_save_user
from flowdesk.notify import outbox, views
from flowdesk.notify.actions import do_save_template
from flowdesk.notify.models import Delivery, NotificationTemplate
from flowdesk.notify.rendering import default_sources

pytestmark = pytest.mark.django_db

PAGES = [
    reverse("notify:delivery_list"),
    reverse("notify:mail_list"),
    reverse("notify:health"),
    reverse("notify:template_list"),
    reverse("notify:template_edit", args=["task_opened", "en"]),
]


def shown(response) -> list[int]:
    """The deliveries a list page shows, by primary key."""
    return [delivery.pk for delivery in response.context["page"]]


@pytest.mark.parametrize("url", PAGES)
def test_only_admins_see_the_pages(admin_client, users, url):
    assert admin_client.get(url).status_code == 200
    alice = Client()
    alice.force_login(users.pm_alice)
    assert alice.get(url).status_code == 403
    assert Client().get(url)["Location"].startswith("/accounts/login/")


def test_the_administration_menu_links_the_outbox(admin_client):
    page = admin_client.get(reverse("manage:index")).content.decode()
    assert reverse("notify:delivery_list") in page


def test_the_outbox_filters_by_status_channel_event_and_ticket(admin_client, submit):
    first = submit("Release 1")
    outbox.send_due()  # locmem: the first to-do mail is sent
    second = submit("Release 2")
    sent = Delivery.objects.get(ticket=first)
    pending = Delivery.objects.get(ticket=second)
    url = reverse("notify:delivery_list")

    assert shown(admin_client.get(url)) == [pending.pk, sent.pk]  # newest first
    assert shown(admin_client.get(url, {"status": "pending"})) == [pending.pk]
    assert shown(admin_client.get(url, {"ticket": first.sn.lower()})) == [sent.pk]
    assert shown(admin_client.get(url, {"event": "task_opened", "channel": "email"})) == [
        pending.pk,
        sent.pk,
    ]
    assert shown(admin_client.get(url, {"event": "approved"})) == []
    assert shown(admin_client.get(url, {"channel": "endpoint"})) == []


def test_the_outbox_pages_keep_their_filter(admin_client, submit, monkeypatch):
    monkeypatch.setattr(views, "OUTBOX_PAGE", 2)
    for number in range(3):
        submit(f"Release {number}")
    response = admin_client.get(reverse("notify:delivery_list"), {"status": "pending"})
    assert len(shown(response)) == 2
    assert "?status=pending&amp;page=2" in response.content.decode()
    response = admin_client.get(reverse("notify:delivery_list"), {"status": "pending", "page": 2})
    assert len(shown(response)) == 1


@pytest.mark.parametrize("tickets", [3, 30])
def test_the_outbox_list_runs_a_bounded_number_of_queries(
    admin_client, submit, django_assert_max_num_queries, tickets
):
    for number in range(tickets):
        submit(f"Release {number}")
    with django_assert_max_num_queries(8):
        assert admin_client.get(reverse("notify:delivery_list")).status_code == 200


@pytest.mark.parametrize("tickets", [2, 12])
def test_the_mail_page_runs_a_bounded_number_of_queries(
    admin_client, submit, django_assert_max_num_queries, tickets
):
    for number in range(tickets):
        submit(f"Release {number}")
    with django_assert_max_num_queries(12):
        response = admin_client.get(reverse("notify:mail_list"))
    assert len(response.context["mails"]) == min(tickets, views.MAIL_PAGE)


def test_a_delivery_shows_its_message_as_the_recipient_reads_it(admin_client, submit):
    do_save_user("test_bob", language="zh-hans", actor=None)
    ticket = submit()
    delivery = Delivery.objects.get()
    page = admin_client.get(reverse("notify:delivery_detail", args=[delivery.pk]))
    text = page.content.decode()
    assert f"[Flowdesk] 待办：{ticket.sn}" in text
    assert delivery.key in text and "package_md5" in text  # the payload
    assert 'sandbox title="HTML body" srcdoc="&lt;!doctype html&gt;' in text


def test_the_mail_page_shows_what_would_have_been_sent(admin_client, submit, settings, users):
    settings.EMAIL_HOST = ""
    ticket = submit("Hotfix 2.4.2")
    submit("Release server 2.4.1")
    page = admin_client.get(reverse("notify:mail_list")).content.decode()
    assert "what would have been sent" in page
    assert f"To do: {ticket.sn} Hotfix 2.4.2" in page

    # A template that fails on one delivery's data shows its error there, and the rest.
    html = '{% if title != "Release server 2.4.1" %}{% include "notify/nope.html" %}{% endif %}'
    do_save_template("task_opened", "en", subject="S", text="T", html=html, actor=users.admin)
    page = admin_client.get(reverse("notify:mail_list")).content.decode()
    assert page.count("TemplateDoesNotExist: notify/nope.html") == 1
    assert page.count('srcdoc="') == 1


def test_retry_now_makes_a_failed_delivery_due(admin_client, smtp, submit, users):
    smtp.stop()
    submit()
    for _attempt in range(outbox.MAX_ATTEMPTS):
        Delivery.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
        outbox.send_due()
    delivery = Delivery.objects.get(status=Delivery.Status.FAILED)
    url = reverse("notify:delivery_retry", args=[delivery.pk])

    alice = Client()
    alice.force_login(users.pm_alice)
    assert alice.post(url).status_code == 403
    assert Delivery.objects.get().status == Delivery.Status.FAILED

    page = admin_client.get(reverse("notify:delivery_detail", args=[delivery.pk]))
    assert "Connection refused" in page.content.decode() and url in page.content.decode()
    response = admin_client.post(url, follow=True)
    assert response.redirect_chain == [(reverse("notify:delivery_detail", args=[delivery.pk]), 302)]
    assert "Queued again" in response.content.decode()
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.PENDING and delivery.next_attempt_at <= timezone.now()
    assert AuditEntry.objects.filter(action="delivery.retried", actor_name="admin").count() == 1
    smtp.start()
    assert outbox.send_due() == 1


def test_a_sent_delivery_is_not_retried(admin_client, submit):
    submit()
    outbox.send_due()
    delivery = Delivery.objects.get()
    response = admin_client.post(reverse("notify:delivery_retry", args=[delivery.pk]), follow=True)
    assert "was sent already" in response.content.decode()
    assert not AuditEntry.objects.filter(action="delivery.retried").exists()


def test_a_template_that_does_not_render_is_shown_beside_its_field(admin_client):
    url = reverse("notify:template_edit", args=["approved", "zh-hans"])
    form = {**default_sources("approved", "zh-hans"), "html": "<p>{% for x in %}</p>"}
    page = admin_client.post(url, form)
    assert page.status_code == 200
    errors = page.context["form"].errors
    assert list(errors) == ["html"] and "TemplateSyntaxError" in errors["html"][0]
    assert 'id="id_html_errors"' in page.content.decode()
    assert not NotificationTemplate.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="notification_template").exists()


def test_a_template_is_edited_then_reset_to_the_default(admin_client):
    url = reverse("notify:template_edit", args=["approved", "zh-hans"])
    default = default_sources("approved", "zh-hans")
    assert admin_client.get(url).context["form"].initial == default
    edited = {**default, "subject": "[审批] {{ serial }} 已通过"}
    assert admin_client.post(url, edited)["Location"] == url
    assert NotificationTemplate.objects.get().subject == edited["subject"]
    page = admin_client.get(url).content.decode()
    assert "[审批] CRQ20261127000001 已通过" in page  # the preview with the sample ticket
    listing = admin_client.get(reverse("notify:template_list")).content.decode()
    assert listing.count(">edited</a>") == 1

    reset = reverse("notify:template_reset", args=["approved", "zh-hans"])
    assert admin_client.post(reset)["Location"] == url
    assert not NotificationTemplate.objects.exists()
    actions = AuditEntry.objects.filter(obj_type="notification_template").values_list(
        "action", flat=True
    )
    assert list(actions) == ["notification_template.saved", "notification_template.reset"]


def test_an_unknown_template_is_not_found(admin_client):
    assert admin_client.get("/manage/notifications/templates/nope/en/").status_code == 404
    assert admin_client.get("/manage/notifications/templates/approved/de/").status_code == 404


def test_health_counts_the_outbox_for_people_and_monitoring(admin_client, smtp, submit, users):
    smtp.stop()
    submit("Release 1")
    outbox.send_due()  # fails once: pending, due again later
    submit("Release 2")  # pending, due now
    health = admin_client.get(reverse("notify:health_json")).json()
    assert health["deliveries"] == {"pending": 2, "sent": 0, "failed": 0}
    assert health["due"] == 1 and health["failed_last_24h"] == 0
    assert health["oldest_pending_age_seconds"] >= 0
    assert health["oldest_due_age_seconds"] >= 0
    assert health["task_backend"] == "database"
    assert health["email"] == f"smtp://127.0.0.1:{smtp.port}"
    page = admin_client.get(reverse("notify:health")).content.decode()
    assert "django_tasks_db.DatabaseBackend" in page

    _token, raw = do_create_token(users.admin, scope="read", actor=None)
    monitor = Client(HTTP_AUTHORIZATION=f"Token {raw}")
    assert monitor.get(reverse("notify:health_json")).json()["due"] == 1
    _token, raw = do_create_token(users.pm_alice, actor=None)
    not_admin = Client(HTTP_AUTHORIZATION=f"Token {raw}")
    assert not_admin.get(reverse("notify:health_json")).status_code == 403
    for stranger in (Client(HTTP_AUTHORIZATION="Token wrong"), Client()):
        assert stranger.get(reverse("notify:health_json")).status_code == 403
