"""One FilterSet for automation runs (the API's list)."""

import django_filters

from flowdesk.automation.models import AutomationRun


class AutomationRunFilterSet(django_filters.FilterSet):
    ticket = django_filters.CharFilter(field_name="ticket__sn", label="Serial number of a ticket")
    status = django_filters.ChoiceFilter(choices=AutomationRun.Status.choices)

    class Meta:
        model = AutomationRun
        fields: list[str] = []
