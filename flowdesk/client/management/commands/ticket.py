"""`flowdesk ticket create|show|wait` – file a ticket on a Flowdesk server and follow it."""

import uuid
from typing import Any

from django.core.management.base import CommandParser

from flowdesk.client.command import (
    ClientCommand,
    connection_options,
    field_options,
    wait_options,
)
from flowdesk.client.render import ticket_text

UNTIL_HELP = "stop waiting (exit 0) once the ticket waits at NODE or has passed it"


class Command(ClientCommand):
    help = "File tickets on a Flowdesk server, show them, and wait for them (see docs/cli.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, parser_class=CommandParser)
        common, waiting = connection_options(), wait_options(node_help=UNTIL_HELP)
        create = sub.add_parser(
            "create",
            parents=[common, field_options(), waiting],
            help="file a ticket; print its serial number",
        )
        create.add_argument("--service", required=True, metavar="KEY")
        create.add_argument("--business", metavar="KEY", help="for business-scoped services")
        create.add_argument("--title", required=True)
        create.add_argument(
            "--idempotency-key",
            metavar="KEY",
            help="a retried create with the same key returns the first ticket (e.g. the CI run id)",
        )
        create.add_argument(
            "--wait",
            action="store_true",
            help="then wait like `ticket wait` (implied by --until-node)",
        )
        show = sub.add_parser("show", parents=[common], help="print a ticket")
        show.add_argument("sn")
        wait = sub.add_parser(
            "wait",
            parents=[common, waiting],
            help="wait until the ticket finishes or reaches a node (exit 0), ends otherwise (3)",
        )
        wait.add_argument("sn")

    def _create(
        self,
        service: str,
        business: str | None,
        title: str,
        idempotency_key: str | None,
        wait: bool,
        until_node: str | None,
        timeout: float | None,
        interval: float,
        **options: Any,
    ) -> None:
        payload = {"service": service, "title": title, "fields": self.fields(**options)}
        if business:
            payload["business"] = business
        ticket = self.client.create_ticket(
            payload, idempotency_key=idempotency_key or str(uuid.uuid4())
        )
        if not (wait or until_node):
            self.emit(ticket, ticket["sn"])
            return
        if not self.json_output:
            self.stdout.write(ticket["sn"])
        self.wait(ticket["sn"], until_node, timeout, interval)

    def _show(self, sn: str, **_: Any) -> None:
        ticket = self.client.get_ticket(sn)
        self.emit(ticket, ticket_text(ticket))

    def _wait(
        self, sn: str, until_node: str | None, timeout: float | None, interval: float, **_: Any
    ) -> None:
        self.wait(sn, until_node, timeout, interval)
