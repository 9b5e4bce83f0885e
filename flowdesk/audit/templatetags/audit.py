from django import template
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from flowdesk.audit.access import can_read_audit_log

register = template.Library()


@register.filter
def reads_audit_log(user: AbstractBaseUser | AnonymousUser) -> bool:
    """`{% if user|reads_audit_log %}` – show the audit log in the menu."""
    return can_read_audit_log(user)
