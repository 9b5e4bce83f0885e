"""Audit pages: the admin's search and download of the log, and a ticket's compliance report."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from flowdesk.audit.access import access_audit_log
from flowdesk.audit.export import FORMATS, export_lines
from flowdesk.audit.filtersets import AuditEntryFilterSet
from flowdesk.audit.models import AuditEntry
from flowdesk.audit.report import ticket_report
from flowdesk.tickets.access import access_ticket

PAGE_SIZE = 50
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@login_required
def entry_list(request: HttpRequest) -> HttpResponse:
    access_audit_log(request.user)
    filterset = AuditEntryFilterSet(request.GET, queryset=AuditEntry.objects.order_by("-seq"))
    page = Paginator(filterset.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filterset": filterset, "page": page, "query": query.urlencode()}
    return render(request, "audit/entry_list.html", context)


@login_required
def entry_export(request: HttpRequest) -> HttpResponse:
    """The filtered entries as a CSV or JSON download (`format=csv|json`)."""
    access_audit_log(request.user)
    fmt = request.GET.get("format", "csv")
    filterset = AuditEntryFilterSet(request.GET, queryset=AuditEntry.objects.all())
    if fmt not in FORMATS or not filterset.is_valid():
        return HttpResponseBadRequest("Unknown format or invalid filter.")
    response = StreamingHttpResponse(export_lines(filterset.qs, fmt), CONTENT_TYPES[fmt])
    name = f"flowdesk-audit-{timezone.localdate():%Y%m%d}.{fmt}"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
def ticket_report_page(request: HttpRequest, sn: str) -> HttpResponse:
    ticket = access_ticket(request.user, sn)
    context = {
        "report": ticket_report(ticket),
        "ticket": ticket,
        "defn": ticket.version.definition,
        "printed_at": timezone.now(),
    }
    return render(request, "audit/ticket_report.html", context)
