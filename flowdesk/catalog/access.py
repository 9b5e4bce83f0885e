"""Who may see and request which service."""

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet

from flowdesk.catalog.models import Service
from flowdesk.directory.access import can_manage_services


def services_visible_to(user: AbstractBaseUser) -> QuerySet[Service]:
    """Active services the user may see in the catalog and request."""
    services = Service.objects.filter(is_active=True)
    if can_manage_services(user):
        return services
    memberships = user.role_memberships.all()
    return services.filter(
        Q(visibility=Service.Visibility.EVERYONE)
        | Q(owners=user)
        | Q(
            visibility=Service.Visibility.BUSINESSES,
            visible_businesses__in=memberships.values("business"),
        )
        | Q(visibility=Service.Visibility.ROLES, visible_roles__in=memberships.values("role"))
    ).distinct()


def can_see_service(user: AbstractBaseUser, service: Service) -> bool:
    return services_visible_to(user).filter(pk=service.pk).exists()
