"""State changes of the catalog: directories and services."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from flowdesk.audit.recording import record_saved, snapshot
from flowdesk.catalog.models import CatalogDirectory, Service
from flowdesk.directory.access import can_manage_services
from flowdesk.directory.models import Business, Role
from flowdesk.workflows.models import Workflow, WorkflowVersion


def _check_manager(actor: AbstractBaseUser | None) -> None:
    if actor is not None and not can_manage_services(actor):
        raise PermissionDenied("You may not manage services and the catalog.")


def do_save_directory(
    key: str,
    *,
    name: str,
    name_zh: str = "",
    parent: CatalogDirectory | None = None,
    order: int = 0,
    actor: AbstractBaseUser | None,
) -> CatalogDirectory:
    """Create or update a catalog directory; a directory may not be put inside itself."""
    _check_manager(actor)
    with transaction.atomic(durable=True):
        directory = CatalogDirectory.objects.filter(key=key).first() or CatalogDirectory(key=key)
        before = snapshot("catalog_directory", directory)
        ancestor = parent
        while ancestor is not None:
            if directory.pk is not None and ancestor.pk == directory.pk:
                raise ValidationError({"parent": "A directory cannot be inside itself."})
            ancestor = ancestor.parent
        directory.name, directory.name_zh = name, name_zh
        directory.parent, directory.order = parent, order
        directory.full_clean()
        directory.save()
        record_saved("catalog_directory", directory, before, actor=actor)
    return directory


def do_save_service(
    key: str,
    *,
    name: str,
    workflow: Workflow,
    name_zh: str = "",
    description: str = "",
    version: WorkflowVersion | None = None,
    directory: CatalogDirectory | None = None,
    order: int = 0,
    owners: Iterable[AbstractBaseUser] = (),
    visibility: str = Service.Visibility.EVERYONE,
    visible_businesses: Iterable[Business] = (),
    visible_roles: Iterable[Role] = (),
    actor: AbstractBaseUser | None,
) -> Service:
    """Create or update a service bound to `version`, or (None) to the latest deployed one."""
    _check_manager(actor)
    if version is not None and version.workflow_id != workflow.pk:
        raise ValidationError({"version": f"Version {version} is not a version of {workflow.key}."})
    if not workflow.versions.exists():
        raise ValidationError(
            {"workflow": f"Workflow {workflow.key} has no deployed version yet; deploy it first."}
        )
    visible_businesses, visible_roles = list(visible_businesses), list(visible_roles)
    if visibility == Service.Visibility.BUSINESSES and not visible_businesses:
        raise ValidationError({"visible_businesses": "Choose at least one business."})
    if visibility == Service.Visibility.ROLES and not visible_roles:
        raise ValidationError({"visible_roles": "Choose at least one role."})
    with transaction.atomic(durable=True):
        service = Service.objects.filter(key=key).first() or Service(key=key)
        before = snapshot("service", service)
        for attr, value in {
            "name": name,
            "name_zh": name_zh,
            "description": description,
            "workflow": workflow,
            "version": version,
            "directory": directory,
            "order": order,
            "visibility": visibility,
        }.items():
            setattr(service, attr, value)
        service.full_clean()
        service.save()
        service.owners.set(owners)
        service.visible_businesses.set(visible_businesses)
        service.visible_roles.set(visible_roles)
        record_saved("service", service, before, actor=actor)
    return service
