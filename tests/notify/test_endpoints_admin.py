"""The chat and webhook pages: for Flowdesk admins only, audited, and the secret never leaks."""

import json

import pytest
from django.test import Client
from django.urls import reverse

from flowdesk.audit.models import AuditEntry
from flowdesk.notify.actions import do_save_endpoint
from flowdesk.notify.models import Delivery, Endpoint
from flowdesk.notify.outbox import send_due
from tests.notify.test_webhooks import Receiver

pytestmark = pytest.mark.django_db

SECRET = "do-not-show-me-9f8e7d"
HOOK = "https://receiver.example.com/flowdesk/T0KEN-IN-THE-PATH-123456"
FORM = {"name": "ops", "kind": "webhook", "url": HOOK, "secret": SECRET, "is_active": "on"}


@pytest.fixture
def admin(users) -> Client:
    client = Client()
    client.force_login(users.admin)
    return client


def audit(action):
    return [json.loads(e.data_json) for e in AuditEntry.objects.filter(action=action)]


def test_pages_are_for_admins_only(users, release_service):
    hook = do_save_endpoint(None, name="ops", kind="slack", url=HOOK, actor=None)
    pages = [
        reverse("notify:endpoint_list"),
        reverse("notify:endpoint_add"),
        reverse("notify:endpoint_edit", args=[hook.pk]),
        reverse("notify:endpoint_log", args=[hook.pk]),
    ]
    actions = [
        (reverse("notify:endpoint_add"), {**FORM, "name": "other"}),
        (reverse("notify:endpoint_edit", args=[hook.pk]), {**FORM, "secret": ""}),
        (reverse("notify:endpoint_test", args=[hook.pk]), {}),
        (reverse("notify:endpoint_delete", args=[hook.pk]), {}),
    ]
    owner = Client()
    owner.force_login(users.ops_carol)
    for page in pages:
        assert Client().get(page).status_code == 302  # to sign-in
        assert owner.get(page).status_code == 403
    for url, data in actions:
        assert owner.post(url, data).status_code == 403
    assert list(Endpoint.objects.values_list("name", "url")) == [("ops", HOOK)]
    assert not Delivery.objects.exists()
    assert len(AuditEntry.objects.filter(obj_type="endpoint")) == 1  # the set-up's


def test_admin_creates_an_endpoint_and_the_secret_stays_hidden(admin, release_service):
    answer = admin.post(reverse("notify:endpoint_add"), {**FORM, "service": "app-release"})
    hook = Endpoint.objects.get()
    assert answer["Location"] == f"/manage/notifications/endpoints/{hook.pk}/"
    assert (hook.secret, hook.service.key, hook.events) == (SECRET, "app-release", [])

    (saved,) = audit("endpoint.saved")
    assert saved["created"] and saved["after"]["secret"] == "(set)"
    assert saved["after"]["url"] == "https://receiver.example.com/flowdesk/T0KE…"
    for page in ("notify:endpoint_edit", "notify:endpoint_log"):
        html = admin.get(reverse(page, args=[hook.pk])).content.decode()
        assert SECRET not in html
    listing = admin.get(reverse("notify:endpoint_list")).content.decode()
    assert "T0KE…" in listing and "T0KEN-IN-THE-PATH" not in listing
    assert SECRET not in json.dumps(audit("endpoint.saved"))


def test_saving_with_an_empty_secret_keeps_it(admin, release_service):
    hook = do_save_endpoint(None, name="ops", kind="webhook", url=HOOK, secret=SECRET, actor=None)
    data = {**FORM, "secret": "", "events": "submitted, completed"}
    answer = admin.post(reverse("notify:endpoint_edit", args=[hook.pk]), data)

    assert answer.status_code == 302
    hook.refresh_from_db()
    assert hook.secret == SECRET and hook.events == ["submitted", "completed"]
    _created, changed = audit("endpoint.saved")
    assert changed["before"] == {"events": []}
    assert changed["after"] == {"events": ["submitted", "completed"]}


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"secret": ""}, "secret", "A JSON webhook needs a signing secret"),
        ({"url": "http//missing-colon"}, "url", "Enter a valid URL."),
        ({"events": "submitted, shipped"}, "events", "Unknown event &#x27;shipped&#x27;"),
    ],
)
def test_validation_error_names_the_field_and_changes_nothing(admin, demo, change, field, message):
    answer = admin.post(reverse("notify:endpoint_add"), {**FORM, **change})

    assert answer.status_code == 200
    html = answer.content.decode()
    errors = html.split(f'id="id_{field}_errors"', 1)[1].split("</div>", 1)[0]
    assert message in errors
    assert SECRET not in html  # not even echoed back into the form
    assert not Endpoint.objects.exists() and not AuditEntry.objects.filter(obj_type="endpoint")


def test_test_message_and_the_delivery_log(admin, demo):
    receiver = Receiver()
    try:
        url = receiver.url + "?key=robot-key"
        room = do_save_endpoint(None, name="room", kind="wecom", url=url, actor=None)
        answer = admin.post(reverse("notify:endpoint_test", args=[room.pk]))
        assert answer["Location"] == reverse("notify:endpoint_log", args=[room.pk])
        (delivery,) = Delivery.objects.filter(endpoint=room)
        assert delivery.event == "test" and delivery.status == Delivery.Status.PENDING
        assert delivery.address == receiver.url + "?key=…"  # the robot's key is a credential
        (tested,) = audit("endpoint.tested")
        assert tested == {"delivery": delivery.key}

        send_due()
        (request,) = receiver.requests
        assert "Test message" in request.json()["markdown"]["content"]
    finally:
        receiver.close()

    log = admin.get(reverse("notify:endpoint_log", args=[room.pk])).content.decode()
    assert ">test</a>" in log and "sent" in log and "200 {&quot;errcode&quot;:0" in log
    assert "robot-key" not in log


def test_admin_deletes_an_endpoint(admin, demo):
    hook = do_save_endpoint(None, name="ops", kind="webhook", url=HOOK, secret=SECRET, actor=None)
    answer = admin.post(reverse("notify:endpoint_delete", args=[hook.pk]))

    assert answer["Location"] == reverse("notify:endpoint_list")
    assert not Endpoint.objects.exists()
    (deleted,) = audit("endpoint.deleted")
    assert deleted["name"] == "ops" and deleted["secret"] == "(set)"
    assert SECRET not in json.dumps(deleted) and "T0KEN" not in json.dumps(deleted)
