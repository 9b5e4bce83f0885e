"""The service catalog: a tree of directories holding services bound to workflow versions."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from flowdesk.directory.models import Business, Role
from flowdesk.workflows.models import Workflow, WorkflowVersion


class CatalogDirectory(models.Model):
    """A folder of the catalog tree (服务目录); `parent` null is a top-level directory."""

    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    key = models.SlugField(_("key"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    order = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        ordering = ["order", "key"]
        verbose_name = _("catalog directory")
        verbose_name_plural = _("catalog directories")

    def __str__(self) -> str:
        return self.name


class Service(models.Model):
    """What people request. Bound to a fixed version, or (version null) the latest deployed."""

    class Visibility(models.TextChoices):
        EVERYONE = "everyone", _("everyone")
        BUSINESSES = "businesses", _("members of some businesses")
        ROLES = "roles", _("members of some roles")

    key = models.SlugField(_("key"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="services")
    version = models.ForeignKey(
        WorkflowVersion,
        verbose_name=_("pinned version"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="services",
        help_text=_("Empty: new tickets use the latest deployed version."),
    )
    directory = models.ForeignKey(
        CatalogDirectory, null=True, blank=True, on_delete=models.PROTECT, related_name="services"
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    owners = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="owned_services"
    )
    visibility = models.CharField(
        _("visible to"), max_length=12, choices=Visibility.choices, default=Visibility.EVERYONE
    )
    visible_businesses = models.ManyToManyField(Business, blank=True, related_name="+")
    visible_roles = models.ManyToManyField(Role, blank=True, related_name="+")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "key"]
        verbose_name = _("service")
        verbose_name_plural = _("services")

    def __str__(self) -> str:
        return self.name

    @property
    def type(self) -> str:
        return self.workflow.type

    def current_version(self) -> WorkflowVersion | None:
        """The version a ticket submitted now would run on."""
        return self.version or self.workflow.latest_version()
