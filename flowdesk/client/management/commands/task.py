"""`flowdesk task list|approve|reject|complete` – the caller's to-do list on a Flowdesk server,
and acting on a ticket's open task by serial number (and node) instead of by task id."""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from flowdesk.client.command import FAILED, ClientCommand, connection_options, field_options
from flowdesk.client.render import status_line, task_line, todo_line

ACTIONS = {"approve": "approved", "reject": "rejected", "complete": "completed"}


class Command(ClientCommand):
    help = "List your open tasks and approve, reject or complete them (see docs/cli.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, parser_class=CommandParser)
        common, fields = connection_options(), field_options()
        sub.add_parser("list", parents=[common], help="your to-do list")
        for action in ACTIONS:
            act = sub.add_parser(
                action, parents=[common, fields], help=f"{action} your open task on a ticket"
            )
            act.add_argument("sn")
            act.add_argument("--node", help="the step, when you have tasks at several")
            act.add_argument("--comment", default="")
            act.add_argument(
                "--override-reason",
                help="admins: act despite separation of duties, saying why (audited)",
            )

    def handle(self, *args: object, verb: str, **options: Any) -> None:
        if verb in ACTIONS:
            options["action"], verb = verb, "act"
        super().handle(*args, verb=verb, **options)

    def _list(self, **_: Any) -> None:
        tasks = self.client.todo()
        self.emit(tasks, "\n".join(todo_line(t) for t in tasks) or "no open tasks")

    def _act(
        self,
        action: str,
        sn: str,
        node: str | None,
        comment: str,
        override_reason: str | None,
        **options: Any,
    ) -> None:
        task = choose_task(self.client.todo(ticket=sn), sn, node, action, override_reason)
        fields = self.fields(**options)
        ticket = self.client.act(
            task["id"], action, fields=fields, comment=comment, override_reason=override_reason
        )
        self.emit(ticket, f"{ACTIONS[action]} {task['node']}: {status_line(ticket)}")


def choose_task(
    tasks: list[dict], sn: str, node: str | None, action: str, override_reason: str | None = None
) -> dict:
    """The caller's one open task on ticket `sn` (at `node`) that allows `action`; with an
    override reason also one separation of duties bars (the server decides who may override)."""
    mine = [t for t in tasks if t["ticket"]["sn"] == sn]
    chosen = [t for t in mine if node in (None, t["node"])]
    listed = "; ".join(task_line(t) for t in mine)
    if not mine:
        raise CommandError(f"you have no open task on {sn}", returncode=FAILED)
    if not chosen:
        raise CommandError(
            f"you have no open task at {node} on {sn}; yours there: {listed}", returncode=FAILED
        )
    if len(chosen) > 1:
        raise CommandError(
            f"you have several open tasks on {sn}: {listed}; choose one with --node",
            returncode=FAILED,
        )
    (task,) = chosen
    barred = task.get("barred_reason")
    if barred and override_reason is None:
        raise CommandError(
            f"cannot {action} {task_line(task)}: {barred} An admin may use --override-reason.",
            returncode=FAILED,
        )
    if action not in task["actions"] and not barred:
        raise CommandError(f"cannot {action} {task_line(task)}", returncode=FAILED)
    return task
