"""One FilterSet for the outbox, shared by the outbox page and the e-mail page."""

import django_filters
from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from flowdesk.notify.endpoints import TEST, TICKET_EVENTS
from flowdesk.notify.models import EVENTS, Delivery

# Notification events (e-mail, chat), then the ticket events only JSON webhooks carry.
EVENT_CHOICES = [
    (_("Notifications"), EVENTS),
    (
        _("Webhooks"),
        [(kind, kind) for kind in TICKET_EVENTS if kind not in dict(EVENTS)] + [(TEST, TEST)],
    ),
]


class DeliveryFilterSet(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Delivery.Status.choices, label=_("Status"))
    channel = django_filters.ChoiceFilter(choices=Delivery.Channel.choices, label=_("Channel"))
    event = django_filters.ChoiceFilter(choices=EVENT_CHOICES, label=_("Event"))
    ticket = django_filters.CharFilter(method="of_ticket", label=_("Ticket"))

    class Meta:
        model = Delivery
        fields: list[str] = []

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs.setdefault("class", "form-select" if select else "form-control")

    def of_ticket(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(ticket__sn=value.strip().upper())
