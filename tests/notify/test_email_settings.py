"""E-mail settings from the environment: the embedded console by default, SMTP with a host,
and a sentence naming the variable when a value cannot work. Each case loads the settings in a
fresh interpreter, as a start of Flowdesk would."""

import json
import os
import subprocess
import sys

import pytest

SHOW = (
    "import json; from flowdesk import settings as s; print(json.dumps([s.EMAIL_BACKEND, "
    "s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS, s.EMAIL_HOST_USER, s.DEFAULT_FROM_EMAIL]))"
)


def load_settings(tmp_path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOWDESK_EMAIL_")}
    return subprocess.run(
        [sys.executable, "-c", SHOW],
        env={**clean, "FLOWDESK_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_host_mail_goes_to_the_console(tmp_path):
    backend, host, port, *_ = json.loads(load_settings(tmp_path).stdout)
    assert backend == "django.core.mail.backends.console.EmailBackend" and host == ""


def test_a_host_selects_smtp_with_its_settings(tmp_path):
    shown = load_settings(
        tmp_path,
        FLOWDESK_EMAIL_HOST="mail.example.com",
        FLOWDESK_EMAIL_USE_TLS="true",
        FLOWDESK_EMAIL_USER="flowdesk",
        FLOWDESK_EMAIL_FROM="Flowdesk <noreply@example.com>",
    )
    assert json.loads(shown.stdout) == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.com",
        587,  # STARTTLS's port unless told otherwise
        True,
        "flowdesk",
        "Flowdesk <noreply@example.com>",
    ]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FLOWDESK_EMAIL_USE_TLS": "1", "FLOWDESK_EMAIL_USE_SSL": "1"}, "not both"),
        ({"FLOWDESK_EMAIL_PORT": "smtp"}, "FLOWDESK_EMAIL_PORT must be a port number"),
        ({"FLOWDESK_EMAIL_USE_TLS": "maybe"}, "FLOWDESK_EMAIL_USE_TLS must be true or false"),
    ],
)
def test_a_value_that_cannot_work_stops_the_start_naming_it(tmp_path, env, message):
    shown = load_settings(tmp_path, FLOWDESK_EMAIL_HOST="mail.example.com", **env)
    assert shown.returncode != 0 and message in shown.stderr
