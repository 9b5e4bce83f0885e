"""The seed scenario through the real `flowdesk` command, as a pipeline runs it: subprocesses
talking HTTP to a live server started by the test."""

import json
import os
import subprocess
import sys

import pytest

from flowdesk.api.actions import do_create_token
from flowdesk.tickets.actions import do_terminate_ticket
from flowdesk.tickets.models import Ticket
from tests.packages import FIXED_MD5, FIXED_URL
from tests.tickets.test_release_scenario import SUBMIT, TEST_FAIL, TEST_PASS

pytestmark = pytest.mark.django_db(transaction=True)

PEOPLE = ("pm_alice", "test_bob", "ops_carol", "qc_c")
NEW_MD5 = FIXED_MD5  # the rebuilt package's, served at FIXED_URL


@pytest.fixture
def cli(live_server, users, tmp_path, immediate_tasks):
    """`cli("pm_alice", "ticket", "show", sn)` runs `flowdesk` as that user; `cli.start` too,
    in the background."""
    tokens = {name: do_create_token(getattr(users, name), actor=None)[1] for name in PEOPLE}
    started: list[subprocess.Popen] = []

    class Cli:
        def env(self, user: str) -> dict:
            return {
                **os.environ,
                "FLOWDESK_URL": live_server.url,
                "FLOWDESK_TOKEN": tokens[user],
                "FLOWDESK_DATA_DIR": str(tmp_path),  # the client needs no data dir of its own
            }

        def __call__(self, user: str, *args: str) -> subprocess.CompletedProcess:
            return subprocess.run(
                [sys.executable, "-m", "flowdesk", *args],
                env=self.env(user),
                capture_output=True,
                text=True,
                timeout=60,
            )

        def start(self, user: str, *args: str) -> subprocess.Popen:
            process = subprocess.Popen(
                [sys.executable, "-m", "flowdesk", *args],
                env=self.env(user),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            started.append(process)
            return process

    yield Cli()
    for process in started:  # a failed test leaves no waiter behind
        if process.poll() is None:
            process.kill()
            process.communicate()


def fields(values: dict) -> list[str]:
    return [arg for key, value in values.items() for arg in ("--field", f"{key}={value}")]


def ok(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def file_release(cli) -> str:
    out = ok(
        cli(
            "pm_alice",
            *["ticket", "create", "--service", "app-release", "--business", "game-a"],
            *["--title", "Release server 2.4.1", *fields(SUBMIT)],
        )
    )
    return out.strip()


def test_release_through_the_cli_with_a_pipeline_waiting_for_approval(cli):
    sn = file_release(cli)
    assert Ticket.objects.get(sn=sn).values["package_md5"] == SUBMIT["package_md5"].lower()

    # The test fails; the requester submits a rebuilt package on her resubmit step.
    ok(cli("test_bob", "task", "complete", sn, *fields(TEST_FAIL)))
    ok(
        cli(
            "pm_alice",
            "task",
            "complete",
            sn,
            "--node",
            "submit",
            "--field",
            f"package_url={FIXED_URL}",
            "--field",
            f"package_md5={NEW_MD5}",
        )
    )
    ok(cli("test_bob", "task", "complete", sn, *fields(TEST_PASS)))
    assert sn in ok(cli("ops_carol", "task", "list"))

    # The pipeline's gate: blocked while ops coordinates, released once ops approves.
    gate = cli.start(
        "pm_alice",
        "ticket",
        "wait",
        sn,
        "--until-node",
        "release",
        "--interval",
        "200ms",
        "--timeout",
        "1m",
    )
    first = gate.stdout.readline()
    assert first.startswith(f"{sn} running – waiting at Coordinate release resources (coordinate)")
    assert gate.poll() is None
    approved = ok(cli("ops_carol", "task", "approve", sn, "--comment", "Slots booked"))
    assert approved.startswith(f"approved coordinate: {sn} running – waiting at Release (release)")
    out, err = gate.communicate(timeout=30)
    assert gate.returncode == 0, err
    assert out.splitlines()[-1].startswith(f"{sn} running – waiting at Release (release) – ")

    ok(
        cli(
            "ops_carol",
            "task",
            "complete",
            sn,
            "--node",
            "release",
            "--field",
            "release_summary=Rolled out",
        )
    )
    wrong = cli("qc_c", "task", "complete", sn, "--node", "release")
    assert wrong.returncode == 1 and "no open task at release" in wrong.stderr
    ok(
        cli(
            "qc_c",
            "task",
            "complete",
            sn,
            "--field",
            "qc_result=good",
            "--field",
            "qc_summary=Fine",
        )
    )

    assert ok(cli("pm_alice", "ticket", "wait", sn)).startswith(f"{sn} finished")
    shown = json.loads(ok(cli("qc_c", "ticket", "show", sn, "--output", "json")))
    assert shown["status"] == "finished" and shown["current_nodes"] == []
    assert [s["node"] for s in shown["snapshots"]][-2:] == ["release", "qc_review"]
    ticket = Ticket.objects.get(sn=sn)
    assert ticket.status == Ticket.Status.FINISHED
    assert ticket.values["package_url"] == FIXED_URL
    assert ticket.values["package_md5"] == NEW_MD5
    assert ticket.values["release_summary"] == "Rolled out"
    done = [
        (e.kind, e.actor.username, e.node_id)
        for e in ticket.events.exclude(actor=None).order_by("seq")
    ]
    assert done == [
        ("submitted", "pm_alice", "submit"),
        ("completed", "test_bob", "test_confirm"),
        ("completed", "pm_alice", "submit"),
        ("completed", "test_bob", "test_confirm"),
        ("approved", "ops_carol", "coordinate"),
        ("completed", "ops_carol", "release"),
        ("completed", "qc_c", "qc_review"),
    ]
    checks = ticket.events.filter(kind="automation_succeeded").values_list("node_id", flat=True)
    assert list(checks) == ["verify_package", "verify_package"]  # each package, before testing
    # The history knows these came from the command-line client.
    assert {e.data["source"] for e in ticket.events.exclude(actor=None)} == {"cli"}


def test_a_terminated_ticket_stops_the_waiting_pipeline_with_exit_3(cli, users):
    sn = file_release(cli)
    gate = cli.start(
        "pm_alice",
        "ticket",
        "wait",
        sn,
        "--until-node",
        "release",
        "--interval",
        "200ms",
        "--timeout",
        "1m",
    )
    assert gate.stdout.readline().startswith(f"{sn} running – waiting at Test confirmation")
    do_terminate_ticket(Ticket.objects.get(sn=sn), actor=users.admin, reason="Release cancelled")
    out, err = gate.communicate(timeout=30)
    assert gate.returncode == 3
    assert out.splitlines()[-1].startswith(f"{sn} terminated")
    assert f"stopped: {sn} terminated" in err


def test_invalid_values_come_back_per_field_and_file_nothing(cli):
    bad = cli(
        "pm_alice",
        *["ticket", "create", "--service", "app-release", "--business", "game-a"],
        *["--title", "Release", *fields({**SUBMIT, "package_md5": "not-a-checksum"})],
    )
    assert bad.returncode == 1
    field_error, detail = bad.stderr.splitlines()
    assert field_error == "package_md5: Enter a 32-character hexadecimal MD5 checksum."
    assert detail.startswith("CommandError: Please correct the values.")
    assert not Ticket.objects.exists()


def test_a_retried_create_with_the_same_idempotency_key_files_one_ticket(cli):
    args = ["ticket", "create", "--service", "app-release", "--business", "game-a"]
    args += ["--title", "Release", "--idempotency-key", "ci-run-41", *fields(SUBMIT)]
    first, again = ok(cli("pm_alice", *args)), ok(cli("pm_alice", *args))
    assert first == again
    assert Ticket.objects.count() == 1
