from django.apps import AppConfig


class DirectoryConfig(AppConfig):
    name = "flowdesk.directory"
    label = "directory"
