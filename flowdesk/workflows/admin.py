from django.contrib import admin

from flowdesk.web.readonly_admin import ReadOnlyAdmin
from flowdesk.workflows.models import Workflow, WorkflowVersion


@admin.register(Workflow)
class WorkflowAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "name_zh", "type", "draft_updated_at"]
    search_fields = ["key", "name", "name_zh"]


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(ReadOnlyAdmin):
    list_display = ["workflow", "number", "deployed_at", "deployed_by", "checksum"]
    list_filter = ["workflow"]
