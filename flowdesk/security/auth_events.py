"""Sign-ins, failed sign-ins and lock-outs go to the audit log.

Django's login view and django-axes change no Flowdesk state, so there is no action to record
them from: they announce these events as signals, and these receivers write the entries.
"""

from axes.signals import user_locked_out
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.http import HttpRequest

from flowdesk.audit.recording import record

USERNAME_MAX = 150  # Django's User.username max_length


def connect() -> None:
    user_logged_in.connect(logged_in, dispatch_uid="flowdesk.security.logged_in")
    user_login_failed.connect(login_failed, dispatch_uid="flowdesk.security.login_failed")
    user_locked_out.connect(locked_out, dispatch_uid="flowdesk.security.locked_out")


def logged_in(sender: object, request: HttpRequest | None, user: AbstractBaseUser, **_: object):
    _record("auth.logged_in", user.get_username(), actor=user)


def login_failed(
    sender: object, credentials: dict, request: HttpRequest | None = None, **_: object
) -> None:
    _record("auth.login_failed", str(credentials.get("username", "")), actor=None)


def locked_out(sender: object, request: HttpRequest, username: str, ip_address: str, **_: object):
    _record("auth.locked_out", username or "", actor=None, address=ip_address)


def _record(action: str, username: str, *, actor: AbstractBaseUser | None, address: str = ""):
    username = username.replace("\0", "")[:USERNAME_MAX]  # as typed; NUL cannot be stored
    with transaction.atomic():
        record(
            action,
            actor=actor,
            obj_type="user",
            obj_id=username,
            data={"username": username},
            address=address or None,
        )


def axes_username(request: HttpRequest, credentials: dict | None) -> str | None:
    """The typed username as django-axes counts it (AXES_USERNAME_CALLABLE): cut to the
    longest a user can have, because axes stores it in a 255-character column – a longer
    one fails the insert on PostgreSQL – and cannot be anyone's."""
    source = credentials if credentials else getattr(request, "POST", {})
    username = source.get("username")
    return None if username is None else str(username)[:USERNAME_MAX]
