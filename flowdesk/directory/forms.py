"""Forms of the directory (used by the admin site); the rules they check live in actions.py."""

from django import forms
from django.core.exceptions import ValidationError

from flowdesk.directory.actions import check_manager, check_membership
from flowdesk.directory.models import Profile, Role, RoleMembership


class ProfileForm(forms.ModelForm):
    class Meta:
        model = Profile
        fields = ["display_name", "language", "manager"]

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("manager") is not None and self.instance.user_id is not None:
            try:
                check_manager(self.instance.user, cleaned["manager"])
            except ValidationError as exc:
                self.add_error(None, exc)
        return cleaned


class RoleForm(forms.ModelForm):
    class Meta:
        model = Role
        fields = ["key", "kind", "name", "name_zh"]

    def clean_kind(self) -> str:
        kind = self.cleaned_data["kind"]
        role = self.instance
        if role.pk is not None and kind != role.kind and role.memberships.exists():
            raise ValidationError(
                f"{role.key} has members as a {role.get_kind_display()}; remove them first."
            )
        return kind


class RoleMembershipForm(forms.ModelForm):
    class Meta:
        model = RoleMembership
        fields = ["user", "business"]


class RoleMembershipFormSet(forms.BaseInlineFormSet):
    """Members of one role: a business role's members each need a business, a general
    role's members none."""

    def clean(self) -> None:
        super().clean()
        role: Role = self.instance
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or self._should_delete_form(form):
                continue
            if not form.has_changed():
                continue
            try:
                check_membership(role, form.cleaned_data.get("business"))
            except ValidationError as exc:
                form.add_error("business", exc.message_dict["business"])
