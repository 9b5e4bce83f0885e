"""`{% automation_panel panel %}`: an automation step's runs and buttons inside its task panel."""

from django import template

from flowdesk.automation.queries import run_actions
from flowdesk.tickets.forms import StepForm

register = template.Library()


@register.inclusion_tag("automation/_run_panel.html", takes_context=True)
def automation_panel(context: template.Context, panel: dict) -> dict:
    task = panel["task"]
    ticket = task.ticket
    runs = list(task.automation_runs.order_by("-attempt"))
    run = runs[0] if runs else None
    allowed = run_actions(context["request"].user, run) if run else []
    form = None
    if "complete" in allowed and panel["node"].fields:
        defn = ticket.version.definition
        form = StepForm(defn, task.node_id, current=ticket.values)
    return {
        "ticket": ticket,
        "task": task,
        "run": run,
        "earlier": runs[1:],
        "actions": allowed,
        "form": form,
        "csrf_token": context.get("csrf_token"),
    }
