"""One FilterSet for the audit log, shared by the admin page, its download and `flowdesk audit
export`."""

import django_filters
from django import forms
from django.db.models import Q, QuerySet

from flowdesk.audit.models import AuditEntry
from flowdesk.tickets.models import Ticket

DAY = forms.DateInput({"type": "date"})


class AuditEntryFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Text")
    action = django_filters.CharFilter(lookup_expr="startswith", label="Action (or its start)")
    actor = django_filters.CharFilter(field_name="actor_name", label="Actor")
    source = django_filters.ChoiceFilter(choices=AuditEntry.Source.choices)
    ticket = django_filters.CharFilter(method="of_ticket", label="Ticket")
    service = django_filters.CharFilter(method="of_service", label="Service")
    since = django_filters.DateFilter(field_name="at", lookup_expr="date__gte", widget=DAY)
    until = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", widget=DAY)

    class Meta:
        model = AuditEntry
        fields: list[str] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs.setdefault("class", "form-select" if select else "form-control")

    def search(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(label__icontains=value) | Q(actor_name__iexact=value) | Q(data_json__icontains=value)
        )

    def of_ticket(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(obj_type="ticket", obj_id=value.strip())

    def of_service(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        """The service's own changes and everything done on its tickets."""
        tickets = Ticket.objects.filter(service__key=value.strip()).values("sn")
        return queryset.filter(
            Q(obj_type="service", obj_id=value.strip()) | Q(obj_type="ticket", obj_id__in=tickets)
        )
