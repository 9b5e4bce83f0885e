"""Who may read the audit log: all of it is for Flowdesk admins. A ticket's compliance report
is for whoever may see the ticket (`flowdesk.tickets.access.access_ticket`)."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.http import Http404

from flowdesk.directory.access import is_flowdesk_admin


def can_read_audit_log(user: AbstractBaseUser | AnonymousUser) -> bool:
    return is_flowdesk_admin(user)


def access_audit_log(user: AbstractBaseUser | AnonymousUser) -> None:
    """Http404 for anyone else: the same "not found" as for tickets they may not see."""
    if not can_read_audit_log(user):
        raise Http404("No such page.")
