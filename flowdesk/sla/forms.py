"""The work calendar form: it parses input; the rules (time zone, dates, hours) are the
engine's, applied by `do_save_calendar`, whose errors are shown next to these fields."""

from django import forms
from django.utils.translation import gettext_lazy as _

from flowdesk.sla.models import WEEKDAYS
from flowdesk.web.forms_manage import BootstrapForm


class WorkCalendarForm(BootstrapForm):
    name = forms.SlugField(
        label=_("Name"),
        max_length=64,
        help_text=_("What a step's sla.calendar or timer.calendar names, e.g. workdays."),
    )
    timezone = forms.CharField(
        label=_("Time zone"),
        max_length=64,
        initial="UTC",
        help_text=_("A time zone name such as Asia/Shanghai or Europe/Berlin."),
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Working days"),
        choices=WEEKDAYS,
        coerce=int,
        initial=[0, 1, 2, 3, 4],
        widget=forms.CheckboxSelectMultiple,
    )
    start = forms.TimeField(
        label=_("Working day starts"),
        initial="09:00",
        widget=forms.TimeInput(attrs={"type": "time"}),
    )
    end = forms.TimeField(
        label=_("Working day ends"), initial="18:00", widget=forms.TimeInput(attrs={"type": "time"})
    )
    holidays = forms.CharField(
        label=_("Holidays"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Days off besides the weekly ones: one date per line, as YYYY-MM-DD."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["weekdays"].widget.attrs["class"] = "form-check-input"

    def clean_holidays(self) -> list[str]:
        """One date per line (commas and spaces separate too); the action checks each."""
        return self.cleaned_data["holidays"].replace(",", " ").split()
