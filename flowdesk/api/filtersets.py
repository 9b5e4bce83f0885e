"""API filters: the shared TicketFilterSet plus `mine=1` / `todo=1`, and the task list's."""

import django_filters
from django.db.models import QuerySet
from django_filters import rest_framework as filters

from flowdesk.tickets.filtersets import TicketFilterSet
from flowdesk.tickets.models import Task


class ApiTicketFilterSet(TicketFilterSet):
    mine = filters.BooleanFilter(method="shorthand", label="Same as scope=mine")
    todo = filters.BooleanFilter(method="shorthand", label="Same as scope=todo")

    def shorthand(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        return self.in_scope(queryset, "scope", name) if value else queryset


class TaskFilterSet(django_filters.FilterSet):
    todo = filters.BooleanFilter(method="to_do", label="Only the caller's to-do list")
    ticket = django_filters.CharFilter(field_name="ticket__sn", label="Serial number of a ticket")

    class Meta:
        model = Task
        fields: list[str] = []

    def to_do(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        # TaskViewSet.visible() starts `todo=1` from the caller's candidate rows (the to-do
        # list needs no visibility check); filtering on them again here would join the
        # candidates twice, and the plan would then sort the whole list for every page.
        return queryset
