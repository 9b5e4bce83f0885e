"""Admin site pages for businesses, roles (with their members) and user profiles.

Saves go through the directory actions (the admin already wraps each save in a transaction, so
the `*_nested` variants are used), so role membership changes keep open tasks' candidates in
step. Businesses and roles are not deleted here: deactivate a business, empty a role.
"""

from collections.abc import Iterable

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db import models, transaction
from django.http import HttpRequest

from flowdesk.directory.access import is_flowdesk_admin
from flowdesk.directory.actions import (
    do_add_role_member_nested,
    do_remove_role_member_nested,
    do_save_business_nested,
    do_save_role_nested,
    do_save_user_nested,
)
from flowdesk.directory.forms import (
    ProfileForm,
    RoleForm,
    RoleMembershipForm,
    RoleMembershipFormSet,
)
from flowdesk.directory.locks import hold_directory_exclusive
from flowdesk.directory.models import Business, Profile, Role, RoleMembership

User = get_user_model()


class FlowdeskAdminOnly:
    """People and roles are managed by Flowdesk admins only."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return is_flowdesk_admin(request.user)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return is_flowdesk_admin(request.user)

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return is_flowdesk_admin(request.user)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return is_flowdesk_admin(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


def _adopt(obj: models.Model, saved: models.Model) -> None:
    """Make the admin's object the row the action saved (for the log and the redirect)."""
    obj.pk, obj._state.adding, obj._state.db = saved.pk, False, saved._state.db


@admin.register(Business)
class BusinessAdmin(FlowdeskAdminOnly, admin.ModelAdmin):
    list_display = ["key", "name", "name_zh", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["key", "name", "name_zh"]

    def get_readonly_fields(self, request: HttpRequest, obj: Business | None = None) -> list:
        return ["key"] if obj else []

    def save_model(self, request: HttpRequest, obj: Business, form: object, change: bool) -> None:
        saved, _changes = do_save_business_nested(
            obj.key, name=obj.name, name_zh=obj.name_zh, is_active=obj.is_active, actor=request.user
        )
        _adopt(obj, saved)


class RoleMembershipInline(FlowdeskAdminOnly, admin.TabularInline):
    model = RoleMembership
    form = RoleMembershipForm
    formset = RoleMembershipFormSet
    autocomplete_fields = ["user", "business"]
    extra = 1

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return is_flowdesk_admin(request.user)  # removing a member is fine


@admin.register(Role)
class RoleAdmin(FlowdeskAdminOnly, admin.ModelAdmin):
    form = RoleForm
    inlines = [RoleMembershipInline]
    list_display = ["key", "kind", "name", "name_zh"]
    list_filter = ["kind"]
    search_fields = ["key", "name", "name_zh"]

    def get_readonly_fields(self, request: HttpRequest, obj: Role | None = None) -> list:
        return ["key"] if obj else []

    def save_model(self, request: HttpRequest, obj: Role, form: object, change: bool) -> None:
        hold_directory_exclusive()  # the member rows follow, after this audit entry (locks.py)
        saved, _changes = do_save_role_nested(
            obj.key, kind=obj.kind, name=obj.name, name_zh=obj.name_zh, actor=request.user
        )
        _adopt(obj, saved)

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        """Apply the member rows as removals and additions, through the actions."""
        role, actor = form.instance, request.user
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.initial_forms:
            deleted = row in formset.deleted_forms
            if not (deleted or row.has_changed()):
                continue
            old = RoleMembership.objects.select_related("user", "business").get(pk=row.instance.pk)
            do_remove_role_member_nested(role, old.user, business=old.business, actor=actor)
            if deleted:
                formset.deleted_objects.append(old)
            else:
                self._add(row, role, actor)
                formset.changed_objects.append((row.instance, row.changed_data))
        for row in formset.extra_forms:
            if row.has_changed() and row not in formset.deleted_forms:
                formset.new_objects.append(self._add(row, role, actor))

    @staticmethod
    def _add(row, role: Role, actor) -> RoleMembership:
        user, business = row.cleaned_data["user"], row.cleaned_data.get("business")
        do_add_role_member_nested(role, user, business=business, actor=actor)
        row.instance.role = role
        return row.instance


class ProfileInline(FlowdeskAdminOnly, admin.StackedInline):
    model = Profile
    form = ProfileForm
    fk_name = "user"
    autocomplete_fields = ["manager"]
    can_delete = False
    max_num = 1


def _remove_memberships(users: Iterable, actor) -> None:
    with transaction.atomic():
        memberships = (
            RoleMembership.objects.filter(user__in=users)
            .select_related("role", "business", "user")
            .order_by("user__username", "role__key", "business__key")  # a stable audit order
        )
        for m in memberships:
            do_remove_role_member_nested(m.role, m.user, business=m.business, actor=actor)


admin.site.unregister(User)


@admin.register(User)
class FlowdeskUserAdmin(UserAdmin):
    """Django's user admin with the Flowdesk profile (display name, language, manager)."""

    inlines = [ProfileInline]

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not Profile:
            return super().save_formset(request, form, formset, change)
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.forms:
            if not row.has_changed():
                continue
            manager = row.cleaned_data.get("manager")
            user, _changes = do_save_user_nested(
                form.instance.get_username(),
                display_name=row.cleaned_data.get("display_name", ""),
                language=row.cleaned_data.get("language") or None,
                manager=manager.get_username() if manager else "",
                actor=request.user,
            )
            if row.instance.pk:
                formset.changed_objects.append((user.profile, row.changed_data))
            else:
                formset.new_objects.append(user.profile)

    def delete_model(self, request: HttpRequest, obj) -> None:
        _remove_memberships([obj], request.user)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        with transaction.atomic():
            _remove_memberships(queryset, request.user)
            super().delete_queryset(request, queryset)
