"""State changes of the directory: people, businesses, roles, role membership, admin groups.

Every public `do_*` runs in its own durable transaction. Its `do_*_nested` twin does the same
work inside a transaction the caller already holds – the directory import (one transaction for
a whole file) and the admin site (which wraps each save in one) – and refuses to run outside
one, so misuse shows at once.

`actor` is the user acting, or None for the local operator (management commands, migrations),
who already holds the database. People, roles and permissions are managed by Flowdesk admins;
a user may change their own display name and language.
"""

import logging
from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.transaction import TransactionManagementError

from flowdesk.audit.recording import record_directory_event
from flowdesk.directory.access import ADMIN_GROUPS, forget_admin_groups, is_flowdesk_admin
from flowdesk.directory.locks import hold_directory_exclusive
from flowdesk.directory.models import Business, Profile, Role, RoleMembership, get_profile

User = get_user_model()
Actor = AbstractBaseUser | None
Changes = dict[str, tuple[Any, Any]]

log = logging.getLogger("flowdesk.directory")

SELF_SERVICE_FIELDS = frozenset({"display_name", "language"})


# --- validation shared with the import and the admin forms -------------------------------------


def validate_fields(model: type[models.Model], values: dict[str, Any]) -> None:
    """Run each model field's own validation on the values that are not None.

    Raises one ValidationError naming every field that failed.
    """
    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if value is None:
            continue
        field = model._meta.get_field(name)
        if isinstance(field, models.BooleanField) and not isinstance(value, bool):
            errors[name] = ["Must be true or false."]
            continue
        try:
            field.clean(value, None)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)


def validate_user_fields(values: dict[str, Any]) -> None:
    """Validate username, email, is_active, display_name and language (None = not given)."""
    errors: dict[str, list[str]] = {}
    for model, names in (
        (User, ("username", "email", "is_active")),
        (Profile, SELF_SERVICE_FIELDS),
    ):
        try:
            validate_fields(model, {n: values[n] for n in names if n in values})
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)


def check_membership(role: Role, business: Business | None) -> None:
    """A business role is held in a business; a general role in none."""
    if role.kind == Role.Kind.BUSINESS and business is None:
        raise ValidationError(
            {"business": f"{role.key} is a business role: say in which business it is held."}
        )
    if role.kind == Role.Kind.GENERAL and business is not None:
        raise ValidationError(
            {"business": f"{role.key} is a general role: its members belong to no business."}
        )


def check_manager(user: AbstractBaseUser | None, manager: AbstractBaseUser) -> None:
    """Refuse a manager who reports, directly or through others, to the user."""
    if user is None or user.pk is None:
        return  # a new user has no reports yet
    if manager.pk == user.pk:
        raise ValidationError({"manager": "A user cannot be their own manager."})
    chain, seen, current = [manager.get_username()], {manager.pk}, manager.pk
    while True:
        row = (
            Profile.objects.filter(user_id=current, manager__isnull=False)
            .values_list("manager_id", "manager__username")
            .first()
        )
        if row is None:
            return
        current, name = row
        chain.append(name)
        if current == user.pk:
            raise ValidationError(
                {
                    "manager": f"That would make a cycle: {user.get_username()} → "
                    f"{' → '.join(chain)}."
                }
            )
        if current in seen:
            return  # an older loop further up, not through this user
        seen.add(current)


def _require_transaction() -> None:
    if not transaction.get_connection().in_atomic_block:
        raise TransactionManagementError(
            "A *_nested directory action must run inside the caller's transaction.atomic()."
        )


def _check_admin(actor: Actor) -> None:
    if actor is not None and not is_flowdesk_admin(actor):
        raise PermissionDenied("You may not manage people, roles and permissions.")


def _audit(actor: Actor, event: str, **data: Any) -> None:
    # Every directory change passes here: into the audit log (same transaction) and the log.
    who = actor.get_username() if actor is not None else "(operator)"
    log.info("%s by %s: %s", event, who, data, extra={"event": event, "data": data})
    record_directory_event(actor, event, data)


def _apply(obj: models.Model, values: dict[str, Any]) -> Changes:
    """Set the values that differ; returns {field: (old, new)}."""
    changes: Changes = {}
    for name, value in values.items():
        if value is not None and getattr(obj, name) != value:
            changes[name] = (getattr(obj, name), value)
            setattr(obj, name, value)
    return changes


def _membership_changed(
    role: Role, business: Business | None, user: AbstractBaseUser, *, added: bool, actor: Actor
) -> None:
    from flowdesk.tickets.candidates import membership_changed

    hold_directory_exclusive()  # before the candidates and the audit entry (locks.py)
    membership_changed(role=role, business=business, user=user, added=added)
    where = {"business": business.key} if business is not None else {}
    _audit(
        actor,
        "role_member_added" if added else "role_member_removed",
        role=role.key,
        user=user.get_username(),
        **where,
    )


# --- people ------------------------------------------------------------------------------------


def do_save_user(
    username: str,
    *,
    email: str | None = None,
    display_name: str | None = None,
    language: str | None = None,
    manager: str | None = None,
    is_active: bool | None = None,
    actor: Actor,
) -> tuple[AbstractBaseUser, Changes]:
    """Create the user (with a profile) or update the fields given.

    None leaves a field as it is; "" clears email, display name or manager. Returns the user
    and {field: (old, new)} of what changed; a new user's changes start with
    `username: (None, username)`. Raises ValidationError naming the field at fault.
    """
    with transaction.atomic(durable=True):
        return do_save_user_nested(
            username,
            email=email,
            display_name=display_name,
            language=language,
            manager=manager,
            is_active=is_active,
            actor=actor,
        )


def do_save_user_nested(
    username: str,
    *,
    email: str | None = None,
    display_name: str | None = None,
    language: str | None = None,
    manager: str | None = None,
    is_active: bool | None = None,
    actor: Actor,
) -> tuple[AbstractBaseUser, Changes]:
    _require_transaction()
    given = {
        "email": email,
        "display_name": display_name,
        "language": language,
        "manager": manager,
        "is_active": is_active,
    }
    given = {name: value for name, value in given.items() if value is not None}
    user = User.objects.select_for_update().filter(username=username).first()
    if not (
        actor is None
        or is_flowdesk_admin(actor)
        or (user is not None and actor.pk == user.pk and set(given) <= SELF_SERVICE_FIELDS)
    ):
        raise PermissionDenied("You may not manage people, roles and permissions.")
    validate_user_fields({"username": username, **given})
    manager_user = None
    if manager:
        manager_user = User.objects.filter(username=manager).first()
        if manager_user is None:
            raise ValidationError({"manager": f"No user named {manager!r}."})
        check_manager(user, manager_user)

    changes: Changes = {}
    if user is None:
        user = User(username=username, email=email or "", is_active=is_active is not False)
        user.set_unusable_password()  # people sign in through SSO, or an admin sets one
        user.save()
        profile = Profile(user=user, display_name=display_name or "", manager=manager_user)
        if language:
            profile.language = language
        profile.save()
        user.profile = profile
        changes["username"] = (None, username)
        changes.update({name: (None, value) for name, value in given.items() if value != ""})
        _audit(actor, "user_created", username=username)
        return user, changes

    user_changes = _apply(user, {"email": email, "is_active": is_active})
    if user_changes:
        user.save(update_fields=list(user_changes))
    profile = get_profile(user)
    profile_changes = _apply(profile, {"display_name": display_name, "language": language})
    if manager is not None and profile.manager_id != (manager_user.pk if manager_user else None):
        old = profile.manager.get_username() if profile.manager_id else None
        profile.manager = manager_user
        profile_changes["manager"] = (old, manager or None)
    if profile_changes:
        profile.save(update_fields=list(profile_changes))
    changes = {**user_changes, **profile_changes}
    if changes:
        _audit(actor, "user_changed", username=username, changes=changes)
    return user, changes


def do_set_password(user: AbstractBaseUser, password: str | None, *, actor: Actor) -> None:
    """Set the user's password (checked by the configured validators); None makes it unusable,
    for people who sign in through SSO only."""
    if not (actor is None or is_flowdesk_admin(actor) or actor.pk == user.pk):
        raise PermissionDenied("You may not manage people, roles and permissions.")
    if password is None:
        user.set_unusable_password()
    else:
        try:
            password_validation.validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from None
        user.set_password(password)
    with transaction.atomic(durable=True):
        user.save(update_fields=["password"])
        _audit(actor, "password_set", username=user.get_username())


# --- businesses and roles ----------------------------------------------------------------------


def do_save_business(
    key: str, *, name: str, name_zh: str = "", is_active: bool | None = None, actor: Actor
) -> tuple[Business, Changes]:
    """Create or update a business; returns it and {field: (old, new)} of what changed."""
    with transaction.atomic(durable=True):
        return do_save_business_nested(
            key, name=name, name_zh=name_zh, is_active=is_active, actor=actor
        )


def do_save_business_nested(
    key: str, *, name: str, name_zh: str = "", is_active: bool | None = None, actor: Actor
) -> tuple[Business, Changes]:
    _require_transaction()
    _check_admin(actor)
    values = {"key": key, "name": name, "name_zh": name_zh, "is_active": is_active}
    validate_fields(Business, values)
    business = Business.objects.select_for_update().filter(key=key).first()
    if business is None:
        business = Business.objects.create(**{k: v for k, v in values.items() if v is not None})
        _audit(actor, "business_created", key=key)
        return business, {k: (None, v) for k, v in values.items() if v not in (None, "")}
    changes = _apply(business, {"name": name, "name_zh": name_zh, "is_active": is_active})
    if changes:
        business.save(update_fields=list(changes))
        _audit(actor, "business_changed", key=key, changes=changes)
    return business, changes


def do_save_role(
    key: str, *, kind: str, name: str, name_zh: str = "", actor: Actor
) -> tuple[Role, Changes]:
    """Create or update a role; its kind may change only while it has no members."""
    with transaction.atomic(durable=True):
        return do_save_role_nested(key, kind=kind, name=name, name_zh=name_zh, actor=actor)


def do_save_role_nested(
    key: str, *, kind: str, name: str, name_zh: str = "", actor: Actor
) -> tuple[Role, Changes]:
    _require_transaction()
    _check_admin(actor)
    values = {"key": key, "kind": kind, "name": name, "name_zh": name_zh}
    validate_fields(Role, values)
    role = Role.objects.select_for_update().filter(key=key).first()
    if role is None:
        role = Role.objects.create(**values)
        _audit(actor, "role_created", key=key)
        return role, {k: (None, v) for k, v in values.items() if v != ""}
    if role.kind != kind and role.memberships.exists():
        raise ValidationError(
            {"kind": f"{key} has members as a {role.get_kind_display()}; remove them first."}
        )
    changes = _apply(role, {"kind": kind, "name": name, "name_zh": name_zh})
    if changes:
        role.save(update_fields=list(changes))
        _audit(actor, "role_changed", key=key, changes=changes)
    return role, changes


# --- role membership ---------------------------------------------------------------------------


def do_add_role_member(
    role: Role, user: AbstractBaseUser, *, business: Business | None = None, actor: Actor
) -> bool:
    """Give the user the role (in `business` for a business role); False if they had it."""
    with transaction.atomic(durable=True):
        return do_add_role_member_nested(role, user, business=business, actor=actor)


def do_add_role_member_nested(
    role: Role, user: AbstractBaseUser, *, business: Business | None = None, actor: Actor
) -> bool:
    _require_transaction()
    _check_admin(actor)
    check_membership(role, business)
    _membership, created = RoleMembership.objects.get_or_create(
        role=role, user=user, business=business
    )
    if created:
        _membership_changed(role, business, user, added=True, actor=actor)
    return created


def do_remove_role_member(
    role: Role, user: AbstractBaseUser, *, business: Business | None = None, actor: Actor
) -> bool:
    """Take the role (in `business`) from the user; False if they did not hold it."""
    with transaction.atomic(durable=True):
        return do_remove_role_member_nested(role, user, business=business, actor=actor)


def do_remove_role_member_nested(
    role: Role, user: AbstractBaseUser, *, business: Business | None = None, actor: Actor
) -> bool:
    _require_transaction()
    _check_admin(actor)
    check_membership(role, business)
    deleted, _ = RoleMembership.objects.filter(role=role, user=user, business=business).delete()
    if deleted:
        _membership_changed(role, business, user, added=False, actor=actor)
    return bool(deleted)


def do_set_role_members(
    role: Role,
    users: Iterable[AbstractBaseUser],
    *,
    business: Business | None = None,
    actor: Actor,
) -> tuple[list[AbstractBaseUser], list[AbstractBaseUser]]:
    """Make exactly `users` the role's members (in `business`); returns (added, removed),
    each ordered by username."""
    with transaction.atomic(durable=True):
        return do_set_role_members_nested(role, users, business=business, actor=actor)


def do_set_role_members_nested(
    role: Role,
    users: Iterable[AbstractBaseUser],
    *,
    business: Business | None = None,
    actor: Actor,
) -> tuple[list[AbstractBaseUser], list[AbstractBaseUser]]:
    _require_transaction()
    _check_admin(actor)
    check_membership(role, business)
    wanted = {user.pk: user for user in users}
    current = {
        m.user_id: m
        for m in RoleMembership.objects.filter(role=role, business=business).select_related("user")
    }
    removed = sorted(
        (m.user for pk, m in current.items() if pk not in wanted), key=lambda u: u.get_username()
    )
    added = sorted(
        (user for pk, user in wanted.items() if pk not in current), key=lambda u: u.get_username()
    )
    if removed:
        RoleMembership.objects.filter(
            pk__in=[m.pk for pk, m in current.items() if pk not in wanted]
        ).delete()
        for user in removed:
            _membership_changed(role, business, user, added=False, actor=actor)
    if added:
        RoleMembership.objects.bulk_create(
            RoleMembership(role=role, user=user, business=business) for user in added
        )
        for user in added:
            _membership_changed(role, business, user, added=True, actor=actor)
    return added, removed


# --- administrative permissions ----------------------------------------------------------------


def _admin_group(key: str) -> Group:
    if key not in ADMIN_GROUPS:
        known = ", ".join(ADMIN_GROUPS)
        raise ValidationError(
            {"permission_group_key": f"Unknown permission {key!r}; one of: {known}."}
        )
    group, _created = Group.objects.get_or_create(name=key)
    return group


def do_grant_admin_permission(
    user: AbstractBaseUser, permission_group_key: str, *, actor: Actor
) -> bool:
    """Put the user in an administrative group; False if already there."""
    _check_admin(actor)
    with transaction.atomic(durable=True):
        group = _admin_group(permission_group_key)
        if user.groups.filter(pk=group.pk).exists():
            return False
        user.groups.add(group)
        _audit(actor, "admin_permission_granted", user=user.get_username(), group=group.name)
    forget_admin_groups(user)
    return True


def do_revoke_admin_permission(
    user: AbstractBaseUser, permission_group_key: str, *, actor: Actor
) -> bool:
    """Take the user out of an administrative group; False if not there."""
    _check_admin(actor)
    with transaction.atomic(durable=True):
        group = _admin_group(permission_group_key)
        if not user.groups.filter(pk=group.pk).exists():
            return False
        user.groups.remove(group)
        _audit(actor, "admin_permission_revoked", user=user.get_username(), group=group.name)
    forget_admin_groups(user)
    return True
