"""Template context every page needs: which parts of the main menu this user may see."""

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from flowdesk.directory.access import (
    can_design_workflows,
    can_manage_services,
    is_flowdesk_admin,
)


def navigation(request: HttpRequest) -> dict[str, object]:
    """`nav.can_manage` / `nav.can_design`, computed only when a template asks (one query)."""
    user = request.user

    def menu() -> dict[str, bool]:
        return {
            "can_manage": is_flowdesk_admin(user) or can_manage_services(user),
            "can_design": can_design_workflows(user),
        }

    return {"nav": SimpleLazyObject(menu)}
