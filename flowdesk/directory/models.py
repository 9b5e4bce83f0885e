"""People and roles: user profiles, businesses, business roles and general roles."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

# Keys are what workflow documents, import files and URLs use to name a business or a role.
business_key_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_-]*\Z",
    _("Enter a key of lowercase letters, digits, '-' and '_', starting with a letter or digit."),
)
role_key_validator = RegexValidator(
    r"^[A-Za-z][A-Za-z0-9_-]*\Z",
    _("Enter a key of letters, digits, '-' and '_', starting with a letter."),
)


class Profile(models.Model):
    """What Flowdesk knows of a user beyond Django's auth user (e-mail stays on the user)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    display_name = models.CharField(_("display name"), max_length=150, blank=True)
    language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("manager"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="reports",
    )

    def __str__(self) -> str:
        return self.display_name or self.user.get_username()


class Business(models.Model):
    """A product line (业务); business roles resolve against it."""

    key = models.CharField(
        _("key"), max_length=64, unique=True, validators=[business_key_validator]
    )
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("business")
        verbose_name_plural = _("businesses")

    def __str__(self) -> str:
        return self.name


class Role(models.Model):
    """A business role (members per business) or a general role (members without business)."""

    class Kind(models.TextChoices):
        BUSINESS = "business", _("business role")
        GENERAL = "general", _("general role")

    key = models.CharField(_("key"), max_length=64, unique=True, validators=[role_key_validator])
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)

    class Meta:
        ordering = ["kind", "key"]
        verbose_name = _("role")
        verbose_name_plural = _("roles")

    def __str__(self) -> str:
        return self.name


class RoleMembership(models.Model):
    """A user holding a role; `business` is set for business roles and null for general ones."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="role_memberships"
    )
    business = models.ForeignKey(
        Business, null=True, blank=True, on_delete=models.CASCADE, related_name="memberships"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["role", "user", "business"], name="unique_business_role_member"
            ),
            models.UniqueConstraint(
                fields=["role", "user"],
                condition=models.Q(business__isnull=True),
                name="unique_general_role_member",
            ),
        ]
        indexes = [models.Index(fields=["role", "business"], name="membership_role_business")]

    def __str__(self) -> str:
        where = f" @ {self.business.key}" if self.business_id else ""
        return f"{self.user} – {self.role.key}{where}"


def get_profile(user: models.Model) -> Profile:
    """The user's profile, created on first use.

    Users made by `do_save_user` get their profile at once; users made any other way
    (createsuperuser, the admin's add form, a future LDAP/OIDC login) get it here, on demand.
    """
    try:
        return user.profile
    except Profile.DoesNotExist:
        profile, _created = Profile.objects.get_or_create(user=user)
        user.profile = profile
        return profile
