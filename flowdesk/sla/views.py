"""Administration pages of work calendars (under /manage/calendars/, in the manage layout).

A POST parses the form and calls `do_save_calendar`; its ValidationError is shown next to the
field it names and nothing is saved."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from flowdesk.sla.access import can_manage_calendars
from flowdesk.sla.actions import do_save_calendar
from flowdesk.sla.forms import WorkCalendarForm
from flowdesk.sla.models import WEEKDAYS, WorkCalendar
from flowdesk.web.forms_manage import add_action_errors

View = Callable[..., HttpResponse]
# The manage layout's side menu: calendar managers are Flowdesk admins, who see all of it.
MENU = {"is_admin": True, "can_manage_services": True}


def calendar_managers_only(view: View) -> View:
    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_manage_calendars(request.user):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapper


@calendar_managers_only
def calendar_list(request: HttpRequest) -> HttpResponse:
    days = dict(WEEKDAYS)
    rows = [
        (calendar, [days[day] for day in calendar.weekdays])
        for calendar in WorkCalendar.objects.all()
    ]
    return render(request, "sla/calendar_list.html", {**MENU, "rows": rows})


@calendar_managers_only
def calendar_edit(request: HttpRequest, name: str | None = None) -> HttpResponse:
    calendar = get_object_or_404(WorkCalendar, name=name) if name else None
    form = WorkCalendarForm(request.POST or None, initial=_initial(calendar))
    if calendar is not None:
        form.fields["name"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            saved = do_save_calendar(data.pop("name"), **data, actor=request.user)
        except ValidationError as error:
            add_action_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("sla:calendar_edit", name=saved.name)
    return render(request, "sla/calendar_edit.html", {**MENU, "calendar": calendar, "form": form})


def _initial(calendar: WorkCalendar | None) -> dict | None:
    if calendar is None:
        return None
    return {
        "name": calendar.name,
        "timezone": calendar.timezone,
        "weekdays": calendar.weekdays,
        "start": calendar.start,
        "end": calendar.end,
        "holidays": "\n".join(calendar.holidays),
    }
