"""Who may see and manage notifications (the outbox, templates, endpoints): Flowdesk admins.
Anyone else is refused (403), as on the other administration pages."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from rest_framework.exceptions import APIException

from flowdesk.api.authentication import TokenAuthentication
from flowdesk.directory.access import is_flowdesk_admin
from flowdesk.notify.models import Delivery

Who = AbstractBaseUser | AnonymousUser


def can_manage_notifications(user: Who) -> bool:
    return is_flowdesk_admin(user)


def access_notifications(user: Who) -> None:
    if not can_manage_notifications(user):
        raise PermissionDenied("Only Flowdesk admins may manage notifications.")


def access_delivery(user: Who, pk: int) -> Delivery:
    access_notifications(user)
    rows = Delivery.objects.select_related("ticket", "recipient__profile", "endpoint")
    delivery = rows.filter(pk=pk).first()
    if delivery is None:
        raise Http404("No such delivery.")
    return delivery


def monitoring_user(request: HttpRequest) -> Who:
    """The signed-in user, or the owner of the API token the request presents (`Authorization:
    Token …`), so monitoring can read the health figures without a browser session."""
    try:
        found = TokenAuthentication().authenticate(request)
    except APIException:  # a bad token: treated as no token at all
        found = None
    return found[0] if found else request.user
