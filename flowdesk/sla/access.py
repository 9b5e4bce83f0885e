"""Who may do what with SLAs: work calendars are set up by Flowdesk admins (they change due
times of every workflow that names them)."""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from flowdesk.directory.access import is_flowdesk_admin


def can_manage_calendars(user: AbstractBaseUser | AnonymousUser) -> bool:
    return is_flowdesk_admin(user)
