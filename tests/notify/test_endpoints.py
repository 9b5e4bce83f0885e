"""Which deliveries a ticket event makes for chat and webhook endpoints, and the endpoint rules
the actions enforce."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from flowdesk.audit.models import AuditEntry
from flowdesk.notify import rules
from flowdesk.notify.actions import do_save_endpoint
from flowdesk.notify.endpoints import masked_url
from flowdesk.notify.models import Delivery, Endpoint
from flowdesk.tickets import actions
from flowdesk.tickets.models import Task
from tests.factories import deploy_service
from tests.notify.test_webhooks import chat_ticket, chatty_workflow
from tests.tickets.test_release_scenario import TEST_PASS, submit

pytestmark = pytest.mark.django_db

URL = "https://receiver.example.com/flowdesk"


def endpoint(name, kind="webhook", **options):
    options.setdefault("secret", "s3cret" if kind == "webhook" else "")
    return do_save_endpoint(None, name=name, kind=kind, url=URL, actor=None, **options)


def sent_to():
    """[(endpoint name, event)] of the chat and webhook deliveries in the outbox, sorted."""
    rows = Delivery.objects.filter(channel=Delivery.Channel.ENDPOINT)
    return sorted(rows.values_list("endpoint__name", "event"))


def open_task(ticket):
    (task,) = Task.objects.filter(ticket=ticket, status=Task.Status.OPEN)
    return task


# --- JSON webhooks -----------------------------------------------------------------------------


def test_webhook_gets_its_service_s_events_or_every_service_s(release_service, users):
    other = deploy_service(chatty_workflow("other"))
    endpoint("release", service=release_service)
    endpoint("everything")
    endpoint("other", service=other)
    endpoint("paused", is_active=False)
    submit(release_service, users.pm_alice)

    # submitted; assigned to ops at verify_package; the check passed; assigned at test_confirm
    events = ("assigned", "assigned", "automation_succeeded", "submitted")
    assert sent_to() == sorted((name, e) for name in ("release", "everything") for e in events)


def test_webhook_gets_only_the_events_it_subscribes_to(release_service, users):
    endpoint("completions", events=["completed"])
    ticket = submit(release_service, users.pm_alice)
    assert sent_to() == []

    actions.do_complete_task(open_task(ticket), actor=users.test_bob, values=TEST_PASS)
    assert sent_to() == [("completions", "completed")]
    (delivery,) = Delivery.objects.filter(channel=Delivery.Channel.ENDPOINT)
    event = ticket.events.get(kind="completed")
    assert delivery.key == f"t{ticket.pk}:e{event.seq}:endpoint:{delivery.endpoint_id}"


def test_recording_an_event_twice_delivers_it_once(release_service, users):
    endpoint("hook")
    ticket = submit(release_service, users.pm_alice)
    keys = set(Delivery.objects.values_list("key", flat=True))
    # submitted, assigned (verify_package), automation_succeeded, assigned (test_confirm)
    assert sent_to() == [
        ("hook", "assigned"),
        ("hook", "assigned"),
        ("hook", "automation_succeeded"),
        ("hook", "submitted"),
    ]

    rules.on_ticket_events(None, ticket=ticket, events=list(ticket.events.all()))
    assert set(Delivery.objects.values_list("key", flat=True)) == keys


# --- chat --------------------------------------------------------------------------------------


def test_chat_only_where_the_strategy_includes_chat(release_service, users):
    chatty = deploy_service(chatty_workflow())
    endpoint("room", kind="wecom")
    submit(release_service, users.pm_alice)  # the demo workflow notifies by e-mail only
    assert sent_to() == []

    chat_ticket(chatty, users)
    assert sent_to() == [("room", "task_opened")]


def test_a_node_can_keep_its_events_out_of_chat(demo, users):
    quiet = deploy_service(chatty_workflow("quiet", review_notify={"channels": ["email"]}))
    endpoint("room", kind="slack")
    ticket = chat_ticket(quiet, users)
    assert sent_to() == []  # the review step's to-do goes by e-mail only

    actions.do_complete_task(open_task(ticket), actor=users.test_bob, values={})
    assert sent_to() == [("room", "finished")]  # ticket-wide: the workflow's strategy


def test_chat_gets_the_events_it_subscribes_to_and_no_personal_ones(demo, users):
    chatty = deploy_service(chatty_workflow())
    endpoint("endings", kind="dingtalk", events=["finished"])
    endpoint("everything", kind="feishu", service=chatty)
    ticket = chat_ticket(chatty, users)
    task = open_task(ticket)
    actions.do_transfer_task(task, actor=users.test_bob, to_user=users.test_erin)
    actions.do_complete_task(open_task(ticket), actor=users.test_erin, values={})

    # "transferred to you" is e-mail only; one message per event and room.
    assert sent_to() == [
        ("endings", "finished"),
        ("everything", "finished"),
        ("everything", "task_opened"),
    ]


# --- the rules of an endpoint ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field", "message"),
    [
        ({"url": "not a url"}, "url", "Enter a valid URL."),
        ({"url": "ftp://files.example.com/"}, "url", "Enter an http:// or https:// URL."),
        ({"secret": ""}, "secret", "A JSON webhook needs a signing secret"),
        ({"events": ["submitted", "task_opened"]}, "events", "Unknown event 'task_opened'"),
        ({"kind": "wecom", "events": ["submitted"]}, "events", "Unknown event 'submitted'"),
        ({"kind": "slack", "secret": "x"}, "secret", "does not sign messages"),
        ({"name": ""}, "name", "This field cannot be blank."),
    ],
)
def test_invalid_endpoint_names_the_field_and_saves_nothing(db, options, field, message):
    values = {"name": "hook", "kind": "webhook", "url": URL, "secret": "s3cret", **options}
    with pytest.raises(ValidationError) as raised:
        do_save_endpoint(None, **values, actor=None)

    assert message in " ".join(raised.value.message_dict[field])
    assert not Endpoint.objects.exists()
    assert not AuditEntry.objects.filter(obj_type="endpoint").exists()


def test_an_empty_secret_keeps_the_current_one_unless_the_kind_signs_nothing(db):
    hook = endpoint("hook", secret="first")
    hook = do_save_endpoint(hook, name="hook", kind="webhook", url=URL, actor=None)
    assert hook.secret == "first"

    room = do_save_endpoint(hook, name="hook", kind="slack", url=URL, actor=None)
    assert room.secret == ""


def test_only_admins_manage_endpoints(users):
    with pytest.raises(PermissionDenied):
        do_save_endpoint(None, name="hook", kind="slack", url=URL, actor=users.ops_carol)
    assert do_save_endpoint(None, name="hook", kind="slack", url=URL, actor=users.admin).pk


def test_masked_url_hides_what_grants_posting():
    assert (
        masked_url("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx")
        == "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…"
    )
    assert (
        masked_url("https://hooks.slack.com/services/T0123456789/B1001010101/7IsoQTrixdUtE971O1xQ")
        == "https://hooks.slack.com/services/T0123456789/B1001010101/7Iso…"
    )
    assert masked_url("http://user:pw@127.0.0.1:8080/hook") == "http://127.0.0.1:8080/hook"
