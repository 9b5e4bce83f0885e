"""Workflow designs: an editable draft document and its immutable deployed versions."""

import hashlib
import json
from functools import cached_property

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from flowdesk.engine import Definition


class WorkflowType(models.TextChoices):
    CHANGE = "change", _("change")
    REQUEST = "request", _("request")
    INCIDENT = "incident", _("incident")
    PROBLEM = "problem", _("problem")


class Workflow(models.Model):
    """A process design. `draft` is the document being edited; deploying freezes a version."""

    key = models.SlugField(_("key"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("Chinese name"), max_length=200, blank=True)
    type = models.CharField(_("type"), max_length=10, choices=WorkflowType.choices)
    draft = models.JSONField(_("draft document"))
    # Canvas positions of the designer, {node id: [x, y]}: kept out of the document and its
    # versions, which have no layout keys.
    layout = models.JSONField(_("designer layout"), default=dict, blank=True)
    draft_updated_at = models.DateTimeField(_("draft updated"), auto_now=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("workflow")
        verbose_name_plural = _("workflows")

    def __str__(self) -> str:
        return self.name

    def latest_version(self) -> "WorkflowVersion | None":
        return self.versions.order_by("-number").first()


class WorkflowVersion(models.Model):
    """An immutable deployed snapshot of a workflow; tickets pin the version they start on."""

    workflow = models.ForeignKey(Workflow, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    document = models.JSONField(_("document"))
    checksum = models.CharField(_("SHA-256 of the document"), max_length=64)
    deployed_at = models.DateTimeField(_("deployed"), auto_now_add=True)
    deployed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["workflow", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="unique_workflow_version")
        ]
        verbose_name = _("workflow version")
        verbose_name_plural = _("workflow versions")

    def __str__(self) -> str:
        return f"{self.workflow.key} v{self.number}"

    @cached_property
    def definition(self) -> Definition:
        return definition_of(self.checksum, self.document)


def document_checksum(document: dict) -> str:
    canonical = json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


_definitions: dict[str, Definition] = {}


def definition_of(checksum: str, document: dict) -> Definition:
    """Versions never change, so each process parses a given document once."""
    if (defn := _definitions.get(checksum)) is None:
        defn = _definitions[checksum] = Definition.from_document(document)
    return defn
