from django.contrib import admin

from flowdesk.catalog.models import CatalogDirectory, Service
from flowdesk.web.readonly_admin import ReadOnlyAdmin


@admin.register(CatalogDirectory)
class CatalogDirectoryAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "name_zh", "parent", "order"]


@admin.register(Service)
class ServiceAdmin(ReadOnlyAdmin):
    list_display = ["key", "name", "name_zh", "workflow", "version", "directory", "visibility"]
    list_filter = ["directory", "visibility", "is_active"]
