"""What `flowdesk ticket` and `flowdesk task` share: the server and token, `--output`, the wait
options, and turning API failures and wait outcomes into exit statuses."""

import json
import os
from argparse import ArgumentParser
from typing import Any

import httpx
from django.core.management.base import BaseCommand, CommandError

from flowdesk.client.http import ApiError, Client
from flowdesk.client.parsing import (
    format_duration,
    merge_fields,
    parse_attach,
    parse_duration,
    parse_field,
    parse_fields_file,
)
from flowdesk.client.render import status_line
from flowdesk.client.waiting import PROCEED, STOPPED, Wait, wait_for_ticket

FAILED, USAGE = 1, 2


def connection_options() -> ArgumentParser:
    """Options every client subcommand takes (after the subcommand, where users put them)."""
    parser = ArgumentParser(add_help=False)
    parser.add_argument("--url", help="the Flowdesk server (default: $FLOWDESK_URL)")
    parser.add_argument("--token", help="your API token (default: $FLOWDESK_TOKEN)")
    parser.add_argument(
        "--output", choices=["text", "json"], default="text", help="json: for scripts"
    )
    return parser


def field_options() -> ArgumentParser:
    parser = ArgumentParser(add_help=False)
    parser.add_argument(
        "--field",
        dest="field_pairs",
        action="append",
        type=parse_field,
        default=[],
        metavar="KEY=VALUE",
        help="a field value; JSON values (numbers, true, lists…) are parsed; KEY=@FILE reads one",
    )
    parser.add_argument(
        "--fields-file", type=parse_fields_file, metavar="FILE.json", help="a JSON object"
    )
    parser.add_argument(
        "--attach",
        dest="attach_pairs",
        action="append",
        type=parse_attach,
        default=[],
        metavar="FIELD=PATH",
        help="upload a file and add it to an attachment field (repeat for several files)",
    )
    return parser


def wait_options(*, node_help: str) -> ArgumentParser:
    parser = ArgumentParser(add_help=False)
    parser.add_argument("--until-node", metavar="NODE", help=node_help)
    parser.add_argument(
        "--timeout",
        type=parse_duration,
        metavar="DURATION",
        help="give up (exit 4) after this long, e.g. 2h",
    )
    parser.add_argument(
        "--interval",
        type=parse_duration,
        default=10.0,
        metavar="DURATION",
        help="how often to look (default 10s)",
    )
    return parser


class ClientCommand(BaseCommand):
    """A command that talks to a Flowdesk server over HTTP; it never touches the database."""

    requires_system_checks: list[str] = []
    # Tests swap in an httpx.MockTransport here.
    transport: httpx.BaseTransport | None = None

    def handle(self, *args: object, verb: str, **options: Any) -> None:
        self.json_output = options["output"] == "json"
        self.client = self._client(options["url"], options["token"])
        try:
            getattr(self, f"_{verb}")(**options)
        except ApiError as exc:
            raise self._failed(exc) from exc
        finally:
            self.client.close()

    def _client(self, url: str | None, token: str | None) -> Client:
        url = url or os.environ.get("FLOWDESK_URL", "")
        token = token or os.environ.get("FLOWDESK_TOKEN", "")
        if not url.startswith(("http://", "https://")):
            raise CommandError(
                "set FLOWDESK_URL (or --url) to the server, e.g. https://flowdesk.example.com",
                returncode=USAGE,
            )
        if not token:
            raise CommandError(
                "set FLOWDESK_TOKEN (or --token): create one with `flowdesk token create USER`",
                returncode=USAGE,
            )
        return Client(url, token, transport=self.transport)

    def _failed(self, exc: ApiError) -> CommandError:
        """Print each field error as `field: message`; the error to raise exits with status 1."""
        for field, messages in exc.errors.items():
            for message in messages:
                self.stderr.write(f"{field}: {message}")
        return CommandError(exc.detail, returncode=FAILED)

    def fields(
        self, fields_file: dict | None, field_pairs: list, attach_pairs: list, **_: Any
    ) -> dict:
        """The field values of `--fields-file`, `--field` and `--attach`: each attached file is
        uploaded first and its id added to the field's list."""
        fields = merge_fields(fields_file, field_pairs)
        for key, path in attach_pairs:
            attachment = self.client.upload(path)
            listed = fields.get(key)
            fields[key] = [*(listed if isinstance(listed, list) else []), attachment["id"]]
        return fields

    def emit(self, data: Any, text: str) -> None:
        """The result: JSON for scripts, or text for people."""
        if self.json_output:
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
        elif text:
            self.stdout.write(text)

    def wait(self, sn: str, until_node: str | None, timeout: float | None, interval: float) -> None:
        """Block until the ticket's outcome is known; exit with the status it decides.

        Progress lines go to stdout for people, to stderr when stdout is for JSON.
        """
        progress_out = self.stderr if self.json_output else self.stdout

        def progress(line: str) -> None:
            progress_out.write(line, style_func=str)
            progress_out.flush()  # a pipeline log shows each line as it happens, not at exit

        code, ticket = wait_for_ticket(
            self.client,
            sn,
            Wait(until_node, timeout, interval),
            progress=progress,
            warn=self.stderr.write,
        )
        if self.json_output and ticket is not None:
            self.emit(ticket, "")
        if code == STOPPED:
            raise CommandError(f"stopped: {status_line(ticket)}", returncode=STOPPED)
        if code != PROCEED:
            goal = f"to reach {until_node}" if until_node else "to finish"
            raise CommandError(
                f"timed out after {format_duration(timeout or 0)} waiting for {sn} {goal}",
                returncode=code,
            )
