from django.contrib import admin

from flowdesk.sla.models import Timer, WorkCalendar
from flowdesk.web.readonly_admin import ReadOnlyAdmin


@admin.register(WorkCalendar)
class WorkCalendarAdmin(ReadOnlyAdmin):
    list_display = ["name", "timezone", "weekdays", "start", "end"]


@admin.register(Timer)
class TimerAdmin(ReadOnlyAdmin):
    list_display = ["ticket", "node_id", "kind", "status", "due_at", "fired_at"]
    list_filter = ["kind", "status"]
    search_fields = ["ticket__sn"]
