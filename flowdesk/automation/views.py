"""The ticket page's automation buttons: retry, skip and complete by hand.

Every POST parses its input, calls one `do_*` action with source="web" and goes back to the
ticket, with the action's refusal or errors as a message.
"""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from flowdesk.automation import actions
from flowdesk.automation.models import AutomationRun
from flowdesk.engine import EngineError, InvalidValues
from flowdesk.tickets.access import access_ticket
from flowdesk.tickets.forms import StepForm
from flowdesk.tickets.models import Ticket

DONE = {
    "retry": gettext_lazy("The step runs again."),
    "skip": gettext_lazy("The step was skipped."),
    "complete": gettext_lazy("The step was completed by hand."),
}


@login_required
@require_POST
def run_action(request: HttpRequest, sn: str, pk: int, action: str) -> HttpResponse:
    ticket = access_ticket(request.user, sn)
    run = get_object_or_404(AutomationRun, pk=pk, ticket=ticket)
    actor, reason = request.user, request.POST.get("reason", "")
    calls: dict[str, Callable[[], object]] = {
        "retry": lambda: actions.do_retry_automation(run, actor=actor, source="web"),
        "skip": lambda: actions.do_skip_automation(run, actor=actor, reason=reason, source="web"),
        "complete": lambda: actions.do_complete_automation(
            run, actor=actor, values=_values(request, ticket, run), reason=reason, source="web"
        ),
    }
    if action not in calls:
        return HttpResponse(status=404)
    try:
        calls[action]()
    except InvalidValues as error:
        problems = " ".join(_(m) for msgs in error.errors.values() for m in msgs)
        messages.error(request, _("Nothing was saved: %(problems)s") % {"problems": problems})
    except EngineError as error:
        messages.error(request, _(error.message))
    else:
        messages.success(request, DONE[action])
    return redirect("tickets:ticket_detail", sn=ticket.sn)


def _values(request: HttpRequest, ticket: Ticket, run: AutomationRun) -> dict:
    """The step's fields as typed (the action checks them). What the form itself refuses
    (NUL characters) is refused here: `values()` would silently leave that field out."""
    defn = ticket.version.definition
    form = StepForm(defn, run.node_id, current=ticket.values, data=request.POST)
    if not form.is_valid():
        raise InvalidValues({key: list(messages) for key, messages in form.errors.items()})
    return form.values()
