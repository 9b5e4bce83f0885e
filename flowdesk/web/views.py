"""The workbench, the profile page (with API tokens), language switch and sign-in."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from django.views.i18n import set_language as django_set_language

from flowdesk.api.actions import do_create_token, do_revoke_token, token_expiry
from flowdesk.api.models import ApiToken
from flowdesk.directory.actions import do_save_user
from flowdesk.directory.models import get_profile
from flowdesk.tickets.filtersets import SCOPES
from flowdesk.tickets.models import Task
from flowdesk.tickets.views import ticket_table

SCOPE_LABELS = {
    "todo": gettext_lazy("To do"),
    "mine": gettext_lazy("My requests"),
    "handled": gettext_lazy("Handled by me"),
    "followed": gettext_lazy("Followed"),
}


@login_required
def workbench(request: HttpRequest) -> HttpResponse:
    """工作台: the user's tickets by tab (to do, my requests, handled, followed)."""
    scope = request.GET.get("scope") if request.GET.get("scope") in dict(SCOPES) else "todo"
    context = ticket_table(request, {"scope": scope})
    todo = Task.objects.filter(candidates__user=request.user).values("ticket").distinct()
    context |= {
        "scope": scope,
        "tabs": [(key, SCOPE_LABELS[key]) for key, _label in SCOPES],
        "todo_count": todo.count(),
    }
    if request.htmx:
        return render(request, "tickets/_ticket_table.html", context)
    return render(request, "web/workbench.html", context)


# --- profile ----------------------------------------------------------------------------------


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        label=gettext_lazy("Display name"), max_length=150, required=False
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=settings.LANGUAGES)


def _profile_page(request: HttpRequest, form: ProfileForm, **extra: object) -> HttpResponse:
    tokens = ApiToken.objects.filter(user=request.user, revoked_at=None)
    context = {"form": form, "tokens": tokens, **extra}
    return render(request, "web/profile.html", context, status=422 if form.errors else 200)


def _language_response(response: HttpResponse, language: str) -> HttpResponse:
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax")
    return response


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = request.user
    current = get_profile(user)
    initial = {"display_name": current.display_name, "language": current.language}
    form = ProfileForm(request.POST or None, initial=initial)
    if request.method != "POST" or not form.is_valid():
        return _profile_page(request, form)
    try:
        do_save_user(user.get_username(), actor=user, **form.cleaned_data)
    except ValidationError as error:
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _profile_page(request, form)
    messages.success(request, _("Your profile was saved."))
    return _language_response(redirect("web:profile"), form.cleaned_data["language"])


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """Create an API token; its value is shown on this response only, never stored."""
    name = request.POST.get("name", "").strip()[:100]
    scope = request.POST.get("scope", "write")
    form = ProfileForm(initial={"display_name": get_profile(request.user).display_name})
    try:
        expires_at = token_expiry(request.POST.get("expires", ""))
        _token, raw = do_create_token(
            request.user, name=name, scope=scope, expires_at=expires_at, actor=request.user
        )
    except (ValueError, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
        return redirect("web:profile")
    return _profile_page(request, form, new_token=raw)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    try:
        do_revoke_token(token, actor=request.user)
    except PermissionDenied as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The token %(prefix)s… was revoked.") % {"prefix": token.prefix}
        )
    return redirect("web:profile")


# --- language, sign-in, people ----------------------------------------------------------------


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch; signed-in users also keep the choice in their profile."""
    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.user.is_authenticated and language in dict(settings.LANGUAGES):
        do_save_user(request.user.get_username(), language=language, actor=request.user)
    return response


class LoginView(auth_views.LoginView):
    """Sign in, then show the pages in the language the user chose in their profile."""

    def form_valid(self, form: forms.Form) -> HttpResponse:
        response = super().form_valid(form)
        return _language_response(response, get_profile(form.get_user()).language)


@login_required
def user_search(request: HttpRequest) -> HttpResponse:
    """htmx: `<option>`s of active users matching `q`, for the transfer picker."""
    query = request.GET.get("q", request.GET.get("to_user", "")).strip()
    people = get_user_model().objects.filter(is_active=True).select_related("profile")
    if query:
        people = people.filter(
            Q(username__icontains=query) | Q(profile__display_name__icontains=query)
        )
    return render(request, "web/_user_options.html", {"people": people.order_by("username")[:10]})
