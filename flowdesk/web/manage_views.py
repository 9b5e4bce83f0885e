"""Administration pages: businesses, roles, users, services and the catalog tree.

Each POST parses a form and calls one directory or catalog action; a ValidationError from the
action is shown next to its field and nothing is changed. People, roles and permissions are
for Flowdesk admins; services and the catalog for service managers too.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from flowdesk.catalog.actions import do_save_directory, do_save_service
from flowdesk.catalog.models import CatalogDirectory, Service
from flowdesk.directory.access import (
    ADMIN_GROUPS,
    can_manage_services,
    is_flowdesk_admin,
)
from flowdesk.directory.actions import (
    do_add_role_member,
    do_grant_admin_permission,
    do_remove_role_member,
    do_revoke_admin_permission,
    do_save_business,
    do_save_role,
    do_save_user,
)
from flowdesk.directory.models import Business, Role, RoleMembership, get_profile
from flowdesk.web.forms_manage import (
    AttachServiceForm,
    BusinessForm,
    BusinessMemberForm,
    DirectoryForm,
    MemberForm,
    RoleForm,
    ServiceForm,
    UserForm,
    add_action_errors,
)

User = get_user_model()
View = Callable[..., HttpResponse]


def _guarded(check: Callable[[AbstractBaseUser], bool]) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


admin_only = _guarded(is_flowdesk_admin)
managers_only = _guarded(can_manage_services)


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """Render an administration page; the side menu needs to know what the user may manage."""
    user = request.user
    menu = {"is_admin": is_flowdesk_admin(user), "can_manage_services": can_manage_services(user)}
    return render(request, f"web/manage/{template}", {**menu, **context})


def _saved(request: HttpRequest, form: Any, action: Callable[[], object]) -> bool:
    """Run the action; on a ValidationError put its messages on the form and say False."""
    try:
        action()
    except ValidationError as error:
        add_action_errors(form, error)
        return False
    messages.success(request, _("Saved."))
    return True


def _edit_form(form_class: type, request: HttpRequest, initial: dict | None) -> Any:
    """A bound form on POST, else one showing `initial`; an existing object's key is fixed."""
    form = form_class(request.POST or None, initial=initial)
    if initial is not None:
        key_field = "username" if "username" in form.fields else "key"
        form.fields[key_field].disabled = True
    return form


@_guarded(lambda user: is_flowdesk_admin(user) or can_manage_services(user))
def index(request: HttpRequest) -> HttpResponse:
    return _render(request, "index.html", {})


# --- businesses --------------------------------------------------------------------------------


@admin_only
def business_list(request: HttpRequest) -> HttpResponse:
    businesses = Business.objects.annotate(members=Count("memberships"))
    return _render(request, "business_list.html", {"businesses": businesses})


@admin_only
def business_edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    business = get_object_or_404(Business, key=key) if key else None
    initial = None
    if business is not None:
        initial = {f: getattr(business, f) for f in ("key", "name", "name_zh", "is_active")}
    form = _edit_form(BusinessForm, request, initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _saved(request, form, lambda: do_save_business(**data, actor=request.user)):
            return redirect("manage:business_edit", key=data["key"])
    members = None
    if business is not None:
        members = (
            RoleMembership.objects.filter(business=business)
            .select_related("role", "user")
            .order_by("role__key", "user__username")
        )
    context = {
        "business": business,
        "form": form,
        "members": members,
        "member_form": BusinessMemberForm(),
    }
    return _render(request, "business_edit.html", context)


@admin_only
@require_POST
def business_member(request: HttpRequest, key: str, change: str) -> HttpResponse:
    """Add (change "add") or remove (change "remove") a member of one of the business's roles."""
    business = get_object_or_404(Business, key=key)
    form = BusinessMemberForm(request.POST)
    if form.is_valid():
        action = do_add_role_member if change == "add" else do_remove_role_member
        role, user = form.cleaned_data["role"], form.cleaned_data["user"]
        if _saved(request, form, lambda: action(role, user, business=business, actor=request.user)):
            return redirect("manage:business_edit", key=key)
    for error in form.errors.values():
        messages.error(request, " ".join(error))
    return redirect("manage:business_edit", key=key)


# --- roles -------------------------------------------------------------------------------------


@admin_only
def role_list(request: HttpRequest) -> HttpResponse:
    roles = Role.objects.annotate(members=Count("memberships"))
    return _render(request, "role_list.html", {"roles": roles})


@admin_only
def role_edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    role = get_object_or_404(Role, key=key) if key else None
    initial = None
    if role is not None:
        initial = {f: getattr(role, f) for f in ("key", "kind", "name", "name_zh")}
    form = _edit_form(RoleForm, request, initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if _saved(request, form, lambda: do_save_role(**data, actor=request.user)):
            return redirect("manage:role_edit", key=data["key"])
    members = None
    if role is not None:
        members = role.memberships.select_related("user", "business").order_by(
            "business__key", "user__username"
        )
    context = {"role": role, "form": form, "members": members, "member_form": MemberForm()}
    return _render(request, "role_edit.html", context)


@admin_only
@require_POST
def role_member(request: HttpRequest, key: str, change: str) -> HttpResponse:
    """Add or remove a member of a general role (business roles: on the business page)."""
    role = get_object_or_404(Role, key=key, kind=Role.Kind.GENERAL)
    form = MemberForm(request.POST)
    if form.is_valid():
        action = do_add_role_member if change == "add" else do_remove_role_member
        user = form.cleaned_data["user"]
        if _saved(request, form, lambda: action(role, user, actor=request.user)):
            return redirect("manage:role_edit", key=key)
    for error in form.errors.values():
        messages.error(request, " ".join(error))
    return redirect("manage:role_edit", key=key)


# --- users -------------------------------------------------------------------------------------


@admin_only
def user_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    people = User.objects.select_related("profile").order_by("username")
    if query:
        people = people.filter(
            Q(username__icontains=query)
            | Q(email__icontains=query)
            | Q(profile__display_name__icontains=query)
        )
    return _render(request, "user_list.html", {"people": people[:200], "q": query})


def _user_initial(person: AbstractBaseUser) -> dict:
    profile = get_profile(person)
    return {
        "username": person.get_username(),
        "email": person.email,
        "display_name": profile.display_name,
        "language": profile.language,
        "manager": profile.manager.get_username() if profile.manager_id else None,
        "is_active": person.is_active,
    }


@admin_only
def user_edit(request: HttpRequest, username: str | None = None) -> HttpResponse:
    person = get_object_or_404(User, username=username) if username else None
    form = _edit_form(UserForm, request, _user_initial(person) if person else None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        manager = data.pop("manager")
        data["manager"] = manager.get_username() if manager else ""
        if _saved(request, form, lambda: do_save_user(**data, actor=request.user)):
            return redirect("manage:user_edit", username=data["username"])
    groups = set()
    memberships = None
    if person is not None:
        groups = set(person.groups.filter(name__in=ADMIN_GROUPS).values_list("name", flat=True))
        memberships = person.role_memberships.select_related("role", "business")
    context = {
        "person": person,
        "form": form,
        "memberships": memberships,
        "admin_groups": [(key, text, key in groups) for key, text in ADMIN_GROUPS.items()],
    }
    return _render(request, "user_edit.html", context)


@admin_only
@require_POST
def user_permission(request: HttpRequest, username: str) -> HttpResponse:
    """Grant or revoke one administrative group (`group`, `grant` = "1" or "0")."""
    person = get_object_or_404(User, username=username)
    grant = request.POST.get("grant") == "1"
    action = do_grant_admin_permission if grant else do_revoke_admin_permission
    try:
        action(person, request.POST.get("group", ""), actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Saved."))
    return redirect("manage:user_edit", username=username)


# --- services ----------------------------------------------------------------------------------


def _service_values(service: Service) -> dict:
    """The service as `do_save_service` keywords, to change one of them and save it again."""
    return {
        "name": service.name,
        "name_zh": service.name_zh,
        "description": service.description,
        "workflow": service.workflow,
        "version": service.version,
        "directory": service.directory,
        "order": service.order,
        "owners": list(service.owners.all()),
        "visibility": service.visibility,
        "visible_businesses": list(service.visible_businesses.all()),
        "visible_roles": list(service.visible_roles.all()),
    }


@managers_only
def service_list(request: HttpRequest) -> HttpResponse:
    services = Service.objects.select_related("workflow", "version", "directory").prefetch_related(
        Prefetch("owners", User.objects.order_by("username"))
    )
    return _render(request, "service_list.html", {"services": services})


@managers_only
def service_edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    service = get_object_or_404(Service, key=key) if key else None
    initial = {"key": service.key, **_service_values(service)} if service else None
    form = _edit_form(ServiceForm, request, initial)
    if service is None and request.method != "POST":
        form.initial["workflow"] = request.GET.get("workflow")  # "offer as a service" link
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        key = data.pop("key")
        if _saved(request, form, lambda: do_save_service(key, **data, actor=request.user)):
            return redirect("manage:service_list")
    return _render(request, "service_edit.html", {"service": service, "form": form})


# --- catalog -----------------------------------------------------------------------------------


def _tree(directories: list[CatalogDirectory]) -> list[tuple[int, CatalogDirectory]]:
    """Directories in tree order with their depth."""
    children: dict[int | None, list[CatalogDirectory]] = {}
    for directory in directories:
        children.setdefault(directory.parent_id, []).append(directory)
    rows: list[tuple[int, CatalogDirectory]] = []

    def walk(parent: int | None, depth: int) -> None:
        for directory in children.get(parent, []):
            rows.append((depth, directory))
            walk(directory.pk, depth + 1)

    walk(None, 0)
    return rows


@managers_only
def catalog(request: HttpRequest) -> HttpResponse:
    directories = CatalogDirectory.objects.prefetch_related(
        Prefetch("services", Service.objects.order_by("order", "key"))
    )
    context = {
        "rows": _tree(list(directories)),
        "unfiled": Service.objects.filter(directory__isnull=True),
    }
    return _render(request, "catalog.html", context)


@managers_only
def directory_edit(request: HttpRequest, key: str | None = None) -> HttpResponse:
    directory = get_object_or_404(CatalogDirectory, key=key) if key else None
    initial = None
    if directory is not None:
        initial = {f: getattr(directory, f) for f in ("key", "name", "name_zh", "parent", "order")}
    form = _edit_form(DirectoryForm, request, initial)
    if directory is None and request.method != "POST" and request.GET.get("parent"):
        form.initial["parent"] = request.GET["parent"]
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        key = data.pop("key")
        if _saved(request, form, lambda: do_save_directory(key, **data, actor=request.user)):
            return redirect("manage:catalog")
    context = {"directory": directory, "form": form, "attach_form": AttachServiceForm()}
    return _render(request, "directory_edit.html", context)


@managers_only
@require_POST
def directory_attach(request: HttpRequest, key: str) -> HttpResponse:
    """Put a service into this directory (it leaves the one it was in)."""
    directory = get_object_or_404(CatalogDirectory, key=key)
    form = AttachServiceForm(request.POST)
    if form.is_valid():
        service = form.cleaned_data["service"]
        values = {**_service_values(service), "directory": directory}
        if _saved(
            request, form, lambda: do_save_service(service.key, **values, actor=request.user)
        ):
            return redirect("manage:directory_edit", key=key)
    for error in form.errors.values():
        messages.error(request, " ".join(error))
    return redirect("manage:directory_edit", key=key)
