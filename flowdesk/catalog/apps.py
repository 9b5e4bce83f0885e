from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "flowdesk.catalog"
    label = "catalog"
