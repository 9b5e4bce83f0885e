"""The templates of an automation step: a sandbox over the ticket, secrets by name only."""

import os
import subprocess
import sys

import pytest

from flowdesk.automation.rendering import AutomationError, prepare
from flowdesk.engine.automation import HttpRequest
from tests.automation.conftest import automation_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(submit, system):
    service = automation_service(
        "render", {"action": "http", "request": {"url": system.url + "/x"}, "wait": "none"}
    )
    return submit(service)


def render(ticket, url: str, **options):
    return prepare(HttpRequest(url=url, **options), ticket, extra={})


def test_templates_read_the_ticket_and_its_values(ticket):
    sent, kept = render(
        ticket,
        "https://deploy.example.com/{{ ticket.serial }}",
        headers=(("X-Version", "{{ values.version | upper }}"),),
        body={"title": "{{ ticket.title }}", "n": 3, "tags": ["{{ ticket.service }}"]},
    )
    assert sent.url == f"https://deploy.example.com/{ticket.sn}"
    assert sent.headers == {"X-Version": "2.4.1"}
    assert sent.body == {"title": "Release", "n": 3, "tags": ["render"]}
    assert kept == sent.as_json()  # nothing secret in it


def test_secrets_are_sent_but_kept_as_placeholders(ticket):
    sent, kept = render(ticket, "https://x.example.com/?t={{ secrets.DEPLOY_TOKEN }}")
    assert sent.url.endswith("t=tok-123") and kept["url"].endswith("t=[secret DEPLOY_TOKEN]")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://x/{{ values.nope }}", "request.url cannot be rendered: 'dict object' has no"),
        (
            "https://x/{{ ''.__class__ }}",
            "access to attribute '__class__' of 'str' object is unsafe",
        ),
        ("https://x/{{ secrets[values.version] }}", "cannot be rendered"),  # no dynamic names
        ("https://x/{{ 'a' * 1000000 }}", "builds a value longer than 100000"),
        ("https://x/{{ 2 ** 1000 }}", "raises to the power 1000; at most 64"),
        ("https://x/{{ values.version", "cannot be rendered: unexpected end of template"),
        ("https://x/{{ secrets.MISSING }}", "set the environment variable FLOWDESK_SECRET_MISSING"),
    ],
)
def test_what_a_template_may_not_do_is_a_clear_failure(ticket, url, message):
    with pytest.raises(AutomationError, match=None) as failed:
        render(ticket, url)
    assert message in str(failed.value)


def test_secrets_come_from_the_environment_but_never_the_django_key(tmp_path):
    env = {
        "PATH": os.environ["PATH"],
        "FLOWDESK_DATA_DIR": str(tmp_path),
        "FLOWDESK_SECRET_KEY": "django-signing-key",
        "FLOWDESK_SECRET_DEPLOY_TOKEN": "tok",
    }
    code = "import flowdesk.settings as s; print(sorted(s.FLOWDESK_SECRETS.items()))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[('DEPLOY_TOKEN', 'tok')]"
