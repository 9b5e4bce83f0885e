"""Forms of the administration pages. They parse input; the rules live in the actions, whose
ValidationErrors `add_action_errors` puts next to the fields they name."""

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from flowdesk.catalog.models import CatalogDirectory, Service
from flowdesk.directory.models import Business, Role
from flowdesk.workflows.models import Workflow, WorkflowVersion

User = get_user_model()


def add_action_errors(form: forms.Form, error: ValidationError) -> None:
    """Show an action's ValidationError on the form: by field where the form has it."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, messages in error.message_dict.items():
        form.add_error(name if name in form.fields else None, messages)


class BootstrapForm(forms.Form):
    """Gives every widget its Bootstrap class, so templates render fields in one loop."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-check-input"
            elif isinstance(widget, forms.Select | forms.SelectMultiple):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs.setdefault("class", css)


def _users() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        User.objects.order_by("username"), to_field_name="username", label=_("User")
    )


class BusinessForm(BootstrapForm):
    key = forms.CharField(label=_("Key"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    name_zh = forms.CharField(label=_("Chinese name"), max_length=200, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class RoleForm(BootstrapForm):
    key = forms.CharField(label=_("Key"), max_length=64)
    kind = forms.ChoiceField(label=_("Kind"), choices=Role.Kind.choices)
    name = forms.CharField(label=_("Name"), max_length=200)
    name_zh = forms.CharField(label=_("Chinese name"), max_length=200, required=False)


class BusinessMemberForm(BootstrapForm):
    """Add a member to one of a business's roles."""

    role = forms.ModelChoiceField(
        Role.objects.filter(kind=Role.Kind.BUSINESS), to_field_name="key", label=_("Role")
    )
    user = _users()


class MemberForm(BootstrapForm):
    """Add a member to a general role."""

    user = _users()


class UserForm(BootstrapForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    email = forms.EmailField(label=_("E-mail"), required=False)
    display_name = forms.CharField(label=_("Display name"), max_length=150, required=False)
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
    manager = forms.ModelChoiceField(
        User.objects.order_by("username"),
        to_field_name="username",
        label=_("Manager"),
        required=False,
    )
    is_active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class ServiceForm(BootstrapForm):
    key = forms.SlugField(label=_("Key"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    name_zh = forms.CharField(label=_("Chinese name"), max_length=200, required=False)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    workflow = forms.ModelChoiceField(Workflow.objects.all(), label=_("Workflow"))
    version = forms.ModelChoiceField(
        WorkflowVersion.objects.select_related("workflow").order_by("workflow__key", "-number"),
        label=_("Version"),
        required=False,
        empty_label=_("Latest deployed version"),
    )
    directory = forms.ModelChoiceField(
        CatalogDirectory.objects.all(), label=_("Catalog directory"), required=False
    )
    order = forms.IntegerField(label=_("Order"), min_value=0, initial=0)
    owners = forms.ModelMultipleChoiceField(
        User.objects.order_by("username"),
        to_field_name="username",
        label=_("Owners"),
        required=False,
    )
    visibility = forms.ChoiceField(label=_("Visible to"), choices=Service.Visibility.choices)
    visible_businesses = forms.ModelMultipleChoiceField(
        Business.objects.all(), label=_("Visible to businesses"), required=False
    )
    visible_roles = forms.ModelMultipleChoiceField(
        Role.objects.all(), label=_("Visible to roles"), required=False
    )


class DirectoryForm(BootstrapForm):
    key = forms.SlugField(label=_("Key"), max_length=64)
    name = forms.CharField(label=_("Name"), max_length=200)
    name_zh = forms.CharField(label=_("Chinese name"), max_length=200, required=False)
    parent = forms.ModelChoiceField(
        CatalogDirectory.objects.all(),
        label=_("Parent directory"),
        required=False,
        empty_label=_("(top level)"),
    )
    order = forms.IntegerField(label=_("Order"), min_value=0, initial=0)


class AttachServiceForm(BootstrapForm):
    service = forms.ModelChoiceField(Service.objects.all(), to_field_name="key", label=_("Service"))
