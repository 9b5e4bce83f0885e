"""Service catalog pages: browse the directory tree and submit a request on a service."""

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from flowdesk import engine
from flowdesk.catalog.access import services_visible_to
from flowdesk.catalog.models import CatalogDirectory, Service
from flowdesk.directory.models import Business
from flowdesk.engine import EngineError, InvalidValues
from flowdesk.tickets.actions import do_submit_ticket
from flowdesk.tickets.forms import StepForm
from flowdesk.workflows.models import WorkflowType


@dataclass
class Folder:
    """A catalog directory with the visible services below it."""

    directory: CatalogDirectory | None
    services: list[Service] = field(default_factory=list)
    children: list["Folder"] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.services) + sum(child.total for child in self.children)

    def walk(self) -> list["Folder"]:
        return [self] + [folder for child in self.children for folder in child.walk()]


def catalog_tree(services: list[Service]) -> list[Folder]:
    """Top-level folders holding `services`, empty branches left out; then the unfiled ones."""
    folders = {d.pk: Folder(d) for d in CatalogDirectory.objects.order_by("order", "key")}
    loose = Folder(None)
    for service in services:
        folders.get(service.directory_id, loose).services.append(service)
    roots = []
    for folder in folders.values():
        parent = folders.get(folder.directory.parent_id)
        (parent.children if parent else roots).append(folder)
    tree = [folder for folder in roots if folder.total]
    for folder in folders.values():
        folder.children = [child for child in folder.children if child.total]
    return tree + ([loose] if loose.services else [])


@login_required
def catalog_index(request: HttpRequest) -> HttpResponse:
    """The catalog; `?type=change` narrows it to one ticket type ("New change" buttons)."""
    services = services_visible_to(request.user).select_related("workflow", "directory")
    ticket_type = request.GET.get("type", "")
    if ticket_type in WorkflowType.values:
        services = services.filter(workflow__type=ticket_type)
    query = request.GET.get("q", "").strip()
    if query:
        services = services.filter(Q(name__icontains=query) | Q(name_zh__icontains=query))
    tree = catalog_tree(list(services.order_by("order", "key")))
    context = {
        "tree": tree,
        "folders": [folder for root in tree for folder in root.walk()],
        "ticket_type": ticket_type,
        "types": WorkflowType.choices,
        "query": query,
    }
    return render(request, "catalog/catalog_index.html", context)


def submit_businesses(user: AbstractBaseUser, defn: engine.Definition) -> QuerySet[Business]:
    """Businesses the user may submit in: where they hold a role the start step asks for.

    When the start step is open to people beyond business roles, every active business is
    offered and the action decides.
    """
    active = Business.objects.filter(is_active=True).order_by("key")
    operators = defn.node(defn.start).operators
    roles = {op["role"] for op in operators if op.get("type") == "business_role"}
    if not operators or len(roles) < len(operators):
        return active
    return active.filter(memberships__user=user, memberships__role__key__in=roles).distinct()


def _service_form(request: HttpRequest, service: Service, data: object = None) -> StepForm:
    version = service.current_version()
    if version is None:
        raise EngineError(_("This service has no deployed workflow yet."))
    defn = version.definition
    businesses = submit_businesses(request.user, defn) if defn.scope == "business" else None
    return StepForm(
        defn, defn.start, current=defn.defaults, data=data, businesses=businesses, with_title=True
    )


def _visible_service(request: HttpRequest, key: str) -> Service:
    return get_object_or_404(
        services_visible_to(request.user).select_related("workflow", "version"), key=key
    )


@login_required
def service_submit(request: HttpRequest, key: str) -> HttpResponse:
    """The submit form of a service; POST submits the ticket through `do_submit_ticket`."""
    service = _visible_service(request, key)
    try:
        form = _service_form(request, service, request.POST if request.method == "POST" else None)
    except EngineError as error:
        messages.error(request, str(error))
        return redirect("catalog:catalog_index")
    context = {"service": service, "form": form, "service_type": service.workflow.type}
    if request.method != "POST":
        return render(request, "catalog/service_submit.html", context)
    form.is_valid()  # collects the raw values; the action judges them
    business = Business.objects.filter(key=form.cleaned_data.get("business") or "").first()
    try:
        ticket = do_submit_ticket(
            service,
            actor=request.user,
            title=form.cleaned_data.get("title", ""),
            values=form.values(),
            business=business,
            source="web",
        )
    except InvalidValues as error:
        form.add_engine_errors(error.errors)
        messages.error(request, _("Nothing was submitted: please correct the marked fields."))
        return render(request, "catalog/service_submit.html", context, status=422)
    except EngineError as error:
        messages.error(request, _(error.message))
        return render(request, "catalog/service_submit.html", context, status=422)
    messages.success(request, _("Ticket %(sn)s was submitted.") % {"sn": ticket.sn})
    return redirect("tickets:ticket_detail", sn=ticket.sn)


@login_required
def service_form(request: HttpRequest, key: str) -> HttpResponse:
    """htmx: the submit form's fields again, conditions evaluated on the values typed so far."""
    service = _visible_service(request, key)
    form = _service_form(request, service, request.POST if request.method == "POST" else None)
    return render(request, "tickets/_step_fields.html", {"form": form})
