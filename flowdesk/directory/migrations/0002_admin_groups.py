"""The administrative permissions, as Django groups (see flowdesk.directory.access)."""

from django.db import migrations

# Frozen here on purpose: later renames in access.py need a migration of their own.
ADMIN_GROUPS = ["flowdesk-admins", "workflow-designers", "service-owners"]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ADMIN_GROUPS:
        Group.objects.get_or_create(name=name)


def delete_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ADMIN_GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0001_initial"),
        ("directory", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_groups, delete_groups)]
