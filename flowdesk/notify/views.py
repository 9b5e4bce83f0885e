"""Notification pages for Flowdesk admins. Each POST parses a form and calls one action."""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Count, Min, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from flowdesk.notify.access import access_delivery, access_notifications, monitoring_user
from flowdesk.notify.actions import (
    check_template_key,
    do_delete_endpoint,
    do_reset_template,
    do_retry_delivery,
    do_save_endpoint,
    do_save_template,
    do_test_endpoint,
)
from flowdesk.notify.endpoints import masked_url
from flowdesk.notify.filtersets import DeliveryFilterSet
from flowdesk.notify.forms import EndpointForm, TemplateForm
from flowdesk.notify.models import EVENTS, Delivery, Endpoint, NotificationTemplate
from flowdesk.notify.rendering import VARIABLES, render_emails, sample_message, sources
from flowdesk.web.forms_manage import add_action_errors
from flowdesk.web.manage_views import admin_only

# --- chat and webhook endpoints (docs/notifications.md#chat-and-webhooks) ------------------------

# The administration side menu: these pages are for admins, who may manage everything.
ADMIN_MENU = {"is_admin": True, "can_manage_services": True}
LOG_PAGE = 50


@admin_only
def endpoint_list(request: HttpRequest) -> HttpResponse:
    endpoints = Endpoint.objects.select_related("service").annotate(
        failed=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.FAILED)),
        pending=Count("deliveries", filter=Q(deliveries__status=Delivery.Status.PENDING)),
    )
    for endpoint in endpoints:
        endpoint.shown_url = masked_url(endpoint.url)
    context = {**ADMIN_MENU, "endpoints": endpoints}
    return render(request, "notify/endpoint_list.html", context)


@admin_only
def endpoint_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk) if pk else None
    form = EndpointForm(request.POST or None, initial=_initial(endpoint))
    if request.method == "POST" and form.is_valid():
        try:
            saved = do_save_endpoint(endpoint, **form.cleaned_data, actor=request.user)
        except ValidationError as error:
            add_action_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("notify:endpoint_edit", pk=saved.pk)
    context = {**ADMIN_MENU, "endpoint": endpoint, "form": form}
    return render(request, "notify/endpoint_edit.html", context)


def _initial(endpoint: Endpoint | None) -> dict | None:
    """The form's values for an existing endpoint; the secret is never shown back."""
    if endpoint is None:
        return None
    return {
        "name": endpoint.name,
        "kind": endpoint.kind,
        "url": endpoint.url,
        "service": endpoint.service,
        "events": ", ".join(endpoint.events),
        "is_active": endpoint.is_active,
    }


@admin_only
@require_POST
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    do_delete_endpoint(endpoint, actor=request.user)
    messages.success(request, _("Endpoint %(name)s deleted.") % {"name": endpoint.name})
    return redirect("notify:endpoint_list")


@admin_only
@require_POST
def endpoint_test(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    do_test_endpoint(endpoint, actor=request.user)
    messages.success(request, _("Test message queued; its outcome shows below once sent."))
    return redirect("notify:endpoint_log", pk=endpoint.pk)


@admin_only
def endpoint_log(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint, pk=pk)
    deliveries = endpoint.deliveries.select_related("ticket").order_by("-created_at", "-pk")
    page = Paginator(deliveries, LOG_PAGE).get_page(request.GET.get("page"))
    context = {
        **ADMIN_MENU,
        "endpoint": endpoint,
        "shown_url": masked_url(endpoint.url),
        "page": page,
    }
    return render(request, "notify/endpoint_log.html", context)


# --- the outbox (docs/notifications.md#the-outbox-and-retries) ---------------------------------

OUTBOX_PAGE = 50
MAIL_PAGE = 10


def _paged(request: HttpRequest, rows: QuerySet, size: int) -> tuple[Page, str]:
    """The requested page, and the query string without `page` for the pager's links."""
    query = request.GET.copy()
    query.pop("page", None)
    return Paginator(rows, size).get_page(request.GET.get("page")), query.urlencode()


@login_required
@require_GET
def delivery_list(request: HttpRequest) -> HttpResponse:
    access_notifications(request.user)
    rows = Delivery.objects.select_related("ticket", "recipient", "endpoint")
    filterset = DeliveryFilterSet(request.GET, queryset=rows)
    page, query = _paged(request, filterset.qs, OUTBOX_PAGE)
    context = {**ADMIN_MENU, "filterset": filterset, "page": page, "query": query}
    return render(request, "notify/delivery_list.html", context)


@login_required
@require_GET
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = access_delivery(request.user, pk)
    shown = _rendered([delivery])[0] if delivery.channel == Delivery.Channel.EMAIL else None
    context = {**ADMIN_MENU, "delivery": delivery, "shown": shown}
    return render(request, "notify/delivery_detail.html", context)


@login_required
@require_POST
def delivery_retry(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = access_delivery(request.user, pk)
    try:
        do_retry_delivery(delivery, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Queued again: a worker sends it now."))
    return redirect("notify:delivery_detail", pk=pk)


@login_required
@require_GET
def mail_list(request: HttpRequest) -> HttpResponse:
    """What was (or would have been) sent by e-mail, rendered as each recipient reads it."""
    access_notifications(request.user)
    filters = request.GET.copy()
    filters["channel"] = Delivery.Channel.EMAIL
    filterset = DeliveryFilterSet(filters, queryset=Delivery.objects.select_related("ticket"))
    page, query = _paged(request, filterset.qs, MAIL_PAGE)
    context = {
        **ADMIN_MENU,
        "filterset": filterset,
        "page": page,
        "query": query,
        "mails": _rendered(list(page)),
        "embedded": not settings.EMAIL_HOST,
    }
    return render(request, "notify/mail_list.html", context)


def _rendered(deliveries: list[Delivery]) -> list[dict]:
    """{delivery, message, error} per e-mail delivery; a template that fails on one delivery's
    payload shows as its error and does not hide the others."""
    return [
        {"delivery": d, "message": None, "error": f"{type(m).__name__}: {m}"}
        if isinstance(m, Exception)
        else {"delivery": d, "message": m, "error": ""}
        for d, m in zip(deliveries, render_emails(deliveries), strict=True)
    ]


# --- health (for people and for monitoring) ----------------------------------------------------


def outbox_health() -> dict:
    """The outbox's figures in one query, and how background work is configured."""
    now = timezone.now()
    pending = Q(status=Delivery.Status.PENDING)
    due = pending & Q(next_attempt_at__lte=now)
    failed = Q(status=Delivery.Status.FAILED)
    figures = Delivery.objects.aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in Delivery.Status.values},
        due=Count("pk", filter=due),
        failed_last_24h=Count("pk", filter=failed & Q(created_at__gte=now - timedelta(days=1))),
        oldest_pending=Min("created_at", filter=pending),
        oldest_due=Min("next_attempt_at", filter=due),
    )
    return {
        "deliveries": {status: figures[status] for status in Delivery.Status.values},
        "due": figures["due"],
        "oldest_due_age_seconds": _age(now, figures["oldest_due"]),
        "oldest_pending_age_seconds": _age(now, figures["oldest_pending"]),
        "failed_last_24h": figures["failed_last_24h"],
        "task_backend": settings.FLOWDESK_TASKS_BACKEND,
        "task_backend_class": settings.TASKS["default"]["BACKEND"],
        "email": _email_transport(),
    }


def _age(now: datetime, since: datetime | None) -> int | None:
    return None if since is None else max(int((now - since).total_seconds()), 0)


def _email_transport() -> str:
    if settings.EMAIL_BACKEND.endswith("smtp.EmailBackend"):
        return f"smtp://{settings.EMAIL_HOST}:{settings.EMAIL_PORT}"
    if settings.EMAIL_BACKEND.endswith("console.EmailBackend"):
        return "console"
    return settings.EMAIL_BACKEND


@login_required
@require_GET
def health(request: HttpRequest) -> HttpResponse:
    access_notifications(request.user)
    context = {**ADMIN_MENU, "health": outbox_health()}
    return render(request, "notify/health.html", context)


@require_GET
def health_json(request: HttpRequest) -> JsonResponse:
    """The same figures for monitoring: an admin's session or API token (`Authorization:
    Token …`); no redirect to the sign-in page."""
    access_notifications(monitoring_user(request))
    return JsonResponse(outbox_health())


# --- e-mail templates (docs/notifications.md#templates) ----------------------------------------


@login_required
@require_GET
def template_list(request: HttpRequest) -> HttpResponse:
    access_notifications(request.user)
    rows = {(t.event, t.language): t for t in NotificationTemplate.objects.all()}
    events = [
        {
            "event": event,
            "label": label,
            "languages": [
                (code, name, rows.get((event, code))) for code, name in settings.LANGUAGES
            ],
        }
        for event, label in EVENTS
    ]
    return render(request, "notify/template_list.html", {**ADMIN_MENU, "events": events})


def _template_key(event: str, language: str) -> None:
    try:
        check_template_key(event, language)
    except ValidationError:
        raise Http404("No such template.") from None


@login_required
def template_edit(request: HttpRequest, event: str, language: str) -> HttpResponse:
    access_notifications(request.user)
    _template_key(event, language)
    row = NotificationTemplate.objects.filter(event=event, language=language).first()
    current = sources(event, language, row)
    form = TemplateForm(request.POST or None, initial=current)
    if request.method == "POST" and form.is_valid():
        try:
            do_save_template(event, language, **form.cleaned_data, actor=request.user)
        except ValidationError as error:
            add_action_errors(form, error)
        else:
            messages.success(request, _("Saved."))
            return redirect("notify:template_edit", event=event, language=language)
    context = {
        **ADMIN_MENU,
        "event": event,
        "event_label": dict(EVENTS)[event],
        "language": language,
        "language_name": dict(settings.LANGUAGES)[language],
        "row": row,
        "form": form,
        "preview": sample_message(event, language, current),
        "variables": VARIABLES,
    }
    return render(request, "notify/template_edit.html", context)


@login_required
@require_POST
def template_reset(request: HttpRequest, event: str, language: str) -> HttpResponse:
    access_notifications(request.user)
    _template_key(event, language)
    if do_reset_template(event, language, actor=request.user):
        messages.success(request, _("Back to the default template."))
    return redirect("notify:template_edit", event=event, language=language)
