from django.contrib import admin

from flowdesk.tickets.models import Event, Task, Ticket
from flowdesk.web.readonly_admin import ReadOnlyAdmin


class TaskInline(admin.TabularInline):
    model = Task
    fields = ["key", "node_id", "status", "outcome", "assignee", "handled_by", "closed_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:  # noqa: ANN001
        return False


class EventInline(TaskInline):
    model = Event
    fields = ["seq", "kind", "actor", "at", "node_id", "data"]
    readonly_fields = fields


@admin.register(Ticket)
class TicketAdmin(ReadOnlyAdmin):
    list_display = ["sn", "title", "service", "business", "requester", "status", "created_at"]
    list_filter = ["status", "service", "business"]
    search_fields = ["sn", "title"]
    inlines = [TaskInline, EventInline]
