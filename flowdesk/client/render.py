"""Tickets and tasks as the short text lines a person or a pipeline log reads."""

from typing import Any

ENDED_BADLY = ("terminated", "withdrawn")
ENDED = ("finished", *ENDED_BADLY)


def node_label(node: dict) -> str:
    return f"{node['name']} ({node['id']})"


def name_of(value: Any) -> str:
    """A user, business or service as the API nests it ({"key"|"username", ...}) or as a key."""
    if isinstance(value, dict):
        return str(value.get("key") or value.get("username") or value.get("name") or "")
    return "" if value is None else str(value)


def status_line(ticket: dict) -> str:
    """`CRQ… running – waiting at Test confirmation (test_confirm)`, `CRQ… terminated (why)`."""
    head = f"{ticket['sn']} {ticket['status']}"
    if ticket["status"] in ENDED:
        reason = ticket.get("end_reason")
        return f"{head} ({reason})" if reason and reason != ticket["status"] else head
    nodes = ticket.get("current_nodes") or []
    if not nodes:
        return head
    return f"{head} – waiting at {', '.join(node_label(n) for n in nodes)}"


def ticket_text(ticket: dict) -> str:
    """`flowdesk ticket show`: the summary, the values, and the open tasks with their actions."""
    service = ticket.get("service") or {}
    lines = [
        f"{ticket['sn']}  {ticket['title']}",
        f"status:    {status_line(ticket).removeprefix(ticket['sn'] + ' ')}",
        f"service:   {service.get('name', '')} ({service.get('key', '')})",
        f"business:  {name_of(ticket.get('business')) or '-'}",
        f"requester: {name_of(ticket.get('requester'))}",
        f"created:   {ticket.get('created_at', '')}",
    ]
    if ticket.get("ended_at"):
        lines.append(f"ended:     {ticket['ended_at']}")
    if ticket.get("url"):
        lines.append(f"url:       {ticket['url']}")
    lines += ["fields:"] + [f"  {k}: {v}" for k, v in (ticket.get("fields") or {}).items()]
    if tasks := ticket.get("tasks"):
        lines += ["open tasks:"] + [f"  {task_line(task)}" for task in tasks]
    return "\n".join(lines)


def task_line(task: dict) -> str:
    """A task: its node, and what the caller may do on it."""
    actions = ", ".join(task.get("actions") or []) or "no action for you"
    return f"{task['node_name']} ({task['node']}) – {actions}"


def todo_line(task: dict) -> str:
    """One row of `flowdesk task list`."""
    ticket = task["ticket"]
    return f"{ticket['sn']}  {task_line(task)}  {ticket['title']}"
