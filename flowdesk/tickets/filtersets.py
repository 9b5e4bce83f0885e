"""One FilterSet for ticket lists, shared by the workbench pages and the API."""

import re
from datetime import UTC, datetime

import django_filters
from django.db.models import QuerySet, Subquery

from flowdesk.catalog.models import Service
from flowdesk.directory.models import Business
from flowdesk.sla.queries import overdue, warned, with_sla_flags
from flowdesk.tickets.models import Task, Ticket

SERIAL = re.compile(r"(CRQ|REQ|INC|PRB)\d{14}")
SCOPES = [
    ("todo", "To do"),
    ("mine", "My requests"),
    ("handled", "Handled by me"),
    ("followed", "Followed"),
]
SLA_STATES = [("overdue", "Overdue"), ("warned", "Warned, not yet overdue")]


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """Compares in UTC: PostgreSQL refuses offsets beyond ±15:59 that ISO 8601 allows."""

    def filter(self, qs: QuerySet, value: datetime | None) -> QuerySet:
        if value is None:
            return qs
        try:
            value = value.astimezone(UTC)
        except OverflowError:  # beyond year 1 or 9999 once in UTC: no ticket is there
            return qs.none()
        return super().filter(qs, value)


class TicketFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Serial number or title")
    # A column of the ticket itself: no join, so no DISTINCT (which would sort every match).
    status = django_filters.MultipleChoiceFilter(choices=Ticket.Status.choices, distinct=False)
    service = django_filters.CharFilter(method="by_key", label="Service key")
    business = django_filters.CharFilter(method="by_key", label="Business key")
    requester = django_filters.CharFilter(field_name="requester__username")
    type = django_filters.CharFilter(field_name="service__workflow__type")
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")
    scope = django_filters.ChoiceFilter(choices=SCOPES, method="in_scope")
    sla = django_filters.ChoiceFilter(choices=SLA_STATES, method="by_sla")

    class Meta:
        model = Ticket
        fields: list[str] = []

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        """Filtered tickets, each with `sla_overdue` / `sla_warned` for the lists' badges."""
        return with_sla_flags(super().filter_queryset(queryset))

    def by_key(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """`service` / `business` by key. The id comes from a subquery the database runs first
        (the key is unique), so a list walks its (service|business, status, id) index in order;
        a join would return the matches unordered, to be sorted all."""
        model = {"service": Service, "business": Business}[name]
        return queryset.filter(**{name: Subquery(model.objects.filter(key=value).values("pk"))})

    def by_sla(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "overdue":
            return queryset.filter(overdue())
        return queryset.filter(warned(), ~overdue())

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        if SERIAL.fullmatch(value.upper()):  # a serial number: the unique index answers
            return queryset.filter(sn=value.upper())
        return queryset.filter(title__icontains=value)

    def in_scope(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        user = self.request.user
        if value == "todo":
            return queryset.filter(
                pk__in=Task.objects.filter(candidates__user=user).values("ticket")
            )
        if value == "mine":
            return queryset.filter(requester=user)
        if value == "handled":
            return queryset.filter(pk__in=Task.objects.filter(handled_by=user).values("ticket"))
        if value == "followed":
            return queryset.filter(follows__user=user)
        return queryset
