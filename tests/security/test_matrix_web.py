"""Every web page and form × every kind of user → the expected answer, and a refused request
changes nothing. The API has its own matrix (tests/api/test_permissions.py).

Each cell starts from the same world (a savepoint rolled back after each request): the demo, a
release ticket of pm_alice waiting for test_bob, a token and an unreferenced file of pm_alice. A
cell in upper case must leave the data exactly as it was.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from flowdesk.api.actions import do_create_token
from flowdesk.api.models import ApiToken
from flowdesk.automation.models import AutomationRun
from flowdesk.catalog.actions import do_save_service
from flowdesk.catalog.models import CatalogDirectory, Service
from flowdesk.directory.access import SERVICE_OWNERS, WORKFLOW_DESIGNERS
from flowdesk.directory.actions import do_grant_admin_permission, do_save_user, do_set_password
from flowdesk.directory.models import Business, Profile, Role, RoleMembership
from flowdesk.notify.actions import do_save_endpoint
from flowdesk.notify.models import Delivery, Endpoint, NotificationTemplate
from flowdesk.sla.actions import do_save_calendar
from flowdesk.sla.models import WorkCalendar
from flowdesk.tickets import actions
from flowdesk.tickets.models import Attachment, Event, Follow, Task, Ticket
from flowdesk.workflows.models import Workflow, WorkflowVersion
from tests.api.conftest import TEST_PASS
from tests.automation.conftest import unstarted_run
from tests.packages import run_automation
from tests.web.conftest import SUBMIT

pytestmark = pytest.mark.django_db
User = get_user_model()

# Django's own admin, the API (its own matrix) and static files are not Flowdesk pages.
SKIPPED = ("admin/", "api/", "static/")
# anonymous; nobody: signed in, no role; requester; handler of the open step; a tester of the
# other business; owner of the service (and in service-owners); a workflow designer; an admin.
WHO = ["anonymous", "nobody", "pm_alice", "test_bob", "test_erin", "owner", "designer", "admin"]

# What a browser sends with every form.
FORM = {"csrfmiddlewaretoken": "-"}

# One row per URL pattern (a pattern taking an action name may have a row per action); the
# cells are GET then POST, in WHO order. L: 302 to sign-in, O: 200, R: 302 elsewhere, B: 400,
# F: 403, N: 404, M: 405, U: 422; lower case: allowed, and data changed.
TABLE = """
# pattern [action]                                      an   no   al   bo   er   ow   de   ad
/                                                       LL   OO   OO   OO   OO   OO   OO   OO
<tickettype:menu>/                                      LL   OO   OO   OO   OO   OO   OO   OO
accounts/login/                                         OO   OO   OO   OO   OO   OO   OO   OO
accounts/logout/                                        MO   MO   MO   MO   MO   MO   MO   MO
accounts/password_change/                               LL   OO   OO   OO   OO   OO   OO   OO
accounts/password_change/done/                          LL   OM   OM   OM   OM   OM   OM   OM
accounts/password_reset/                                OO   OO   OO   OO   OO   OO   OO   OO
accounts/password_reset/done/                           OM   OM   OM   OM   OM   OM   OM   OM
accounts/reset/<uidb64>/<token>/                        OO   OO   OO   OO   OO   OO   OO   OO
accounts/reset/done/                                    OM   OM   OM   OM   OM   OM   OM   OM
attachments/                                            LL   MB   MB   MB   MB   MB   MB   MB
attachments/<uuid:pk>/                                  LL   NN   OO   NN   NN   NN   NN   NN
audit/                                                  LL   NN   NN   NN   NN   NN   NN   OO
audit/export/                                           LL   NN   NN   NN   NN   NN   NN   OO
audit/tickets/<str:sn>/report/                          LL   NN   OO   OO   NN   OO   NN   OO
catalog/                                                LL   OO   OO   OO   OO   OO   OO   OO
catalog/<slug:key>/                                     LL   OU   OU   OU   OU   OU   OU   OU
catalog/<slug:key>/form/                                LL   OO   OO   OO   OO   OO   OO   OO
designer/                                               LL   FF   FF   FF   FF   FF   OO   OO
designer/<slug:key>/                                    LL   FF   FF   FF   FF   FF   OO   OO
designer/<slug:key>/deploy/                             LL   FF   FF   FF   FF   FF   MO   MO
designer/<slug:key>/history/                            LL   FF   FF   FF   FF   FF   OO   OO
designer/<slug:key>/save/                               LL   FF   FF   FF   FF   FF   MB   MB
designer/<slug:key>/validate/                           LL   FF   FF   FF   FF   FF   MO   MO
designer/<slug:key>/yaml/                               LL   FF   FF   FF   FF   FF   MB   MB
designer/<slug:key>/yaml/apply/                         LL   FF   FF   FF   FF   FF   MB   MB
designer/new/                                           LL   FF   FF   FF   FF   FF   OO   OO
i18n/setlang/                                           MR   MR   MR   MR   MR   MR   MR   MR
manage/                                                 LL   FF   FF   FF   FF   OO   FF   OO
manage/businesses/                                      LL   FF   FF   FF   FF   FF   FF   OO
manage/businesses/<str:key>/                            LL   FF   FF   FF   FF   FF   FF   OO
manage/businesses/<str:key>/members/<str:change>/       LL   FF   FF   FF   FF   FF   FF   MR
manage/businesses/new/                                  LL   FF   FF   FF   FF   FF   FF   OO
manage/calendars/                                       LL   FF   FF   FF   FF   FF   FF   OO
manage/calendars/<slug:name>/                           LL   FF   FF   FF   FF   FF   FF   OO
manage/calendars/new/                                   LL   FF   FF   FF   FF   FF   FF   OO
manage/catalog/                                         LL   FF   FF   FF   FF   OO   FF   OO
manage/catalog/<slug:key>/                              LL   FF   FF   FF   FF   OO   FF   OO
manage/catalog/<slug:key>/attach/                       LL   FF   FF   FF   FF   MR   FF   MR
manage/catalog/new/                                     LL   FF   FF   FF   FF   OO   FF   OO
manage/notifications/                                   LL   FM   FM   FM   FM   FM   FM   OM
manage/notifications/emails/                            LL   FM   FM   FM   FM   FM   FM   OM
manage/notifications/endpoints/                         LL   FF   FF   FF   FF   FF   FF   OO
manage/notifications/endpoints/<int:pk>/                LL   FF   FF   FF   FF   FF   FF   OO
manage/notifications/endpoints/<int:pk>/deliveries/     LL   FF   FF   FF   FF   FF   FF   OO
manage/notifications/endpoints/<int:pk>/delete/         LL   FF   FF   FF   FF   FF   FF   Mr
manage/notifications/endpoints/<int:pk>/test/           LL   FF   FF   FF   FF   FF   FF   Mr
manage/notifications/endpoints/new/                     LL   FF   FF   FF   FF   FF   FF   OO
manage/notifications/health.json                        FM   FM   FM   FM   FM   FM   FM   OM
manage/notifications/health/                            LL   FM   FM   FM   FM   FM   FM   OM
manage/notifications/outbox/<int:pk>/                   LL   FM   FM   FM   FM   FM   FM   OM
manage/notifications/outbox/<int:pk>/retry/             LL   MF   MF   MF   MF   MF   MF   Mr
manage/notifications/templates/                         LL   FM   FM   FM   FM   FM   FM   OM
manage/notifications/templates/<str:event>/<str:language>/ LL FF FF   FF   FF   FF   FF   OO
manage/notifications/templates/<str:event>/<str:language>/reset/ LL MF MF MF MF  MF   MF   MR
manage/roles/                                           LL   FF   FF   FF   FF   FF   FF   OO
manage/roles/<str:key>/                                 LL   FF   FF   FF   FF   FF   FF   OO
manage/roles/<str:key>/members/<str:change>/            LL   FF   FF   FF   FF   FF   FF   MR
manage/roles/new/                                       LL   FF   FF   FF   FF   FF   FF   OO
manage/services/                                        LL   FF   FF   FF   FF   OO   FF   OO
manage/services/<slug:key>/                             LL   FF   FF   FF   FF   OO   FF   OO
manage/services/new/                                    LL   FF   FF   FF   FF   OO   FF   OO
manage/users/                                           LL   FF   FF   FF   FF   FF   FF   OO
manage/users/<str:username>/                            LL   FF   FF   FF   FF   FF   FF   OO
manage/users/<str:username>/permissions/                LL   FF   FF   FF   FF   FF   FF   MR
manage/users/new/                                       LL   FF   FF   FF   FF   FF   FF   OO
profile/                                                LL   OU   OU   OU   OU   OU   OU   OU
profile/tokens/                                         LL   Mo   Mo   Mo   Mo   Mo   Mo   Mo
profile/tokens/<int:pk>/revoke/                         LL   MN   Mr   MN   MN   MN   MN   MN
tickets/<str:sn>/                                       LL   NN   OO   OO   NN   OO   NN   OO
tickets/<str:sn>/automation/<int:pk>/<str:action>/ skip LL   MN   MR   MN   MN   Mr   MN   Mr
tickets/<str:sn>/print/                                 LL   NN   OO   OO   NN   OO   NN   OO
tickets/<str:sn>/do/<str:action>/ follow                LL   MN   Mr   Mr   MN   Mr   MN   Mr
tickets/<str:sn>/do/<str:action>/ comment               LL   MN   Mr   Mr   MN   Mr   MN   Mr
tickets/<str:sn>/do/<str:action>/ terminate             LL   MN   MR   MR   MN   Mr   MN   Mr
tickets/<str:sn>/do/<str:action>/ withdraw              LL   MN   Mr   MR   MN   MR   MN   MR
tickets/<str:sn>/tasks/<int:pk>/<str:action>/ complete  LL   MN   MR   Mr   MN   MR   MN   MR
tickets/<str:sn>/tasks/<int:pk>/<str:action>/ transfer  LL   MN   MR   Mr   MN   Mr   MN   Mr
tickets/<str:sn>/tasks/<int:pk>/form/                   LL   NN   OO   OO   NN   OO   NN   OO
users/search/                                           LL   OO   OO   OO   OO   OO   OO   OO
"""
# Placeholders whose world value does not fit, and the forms the ticket and task actions get.
PLACES = {
    "manage/businesses/": {"key": "game-a"},
    "manage/roles/": {"key": "QC"},
    "manage/catalog/": {"key": "application-release"},
    "profile/tokens/": {"pk": "{token_pk}"},
    "attachments/": {"pk": "{attachment}"},
    "tickets/<str:sn>/automation/": {"sn": "{run_sn}", "pk": "{run}"},
    "manage/calendars/": {"name": "office"},
    "manage/notifications/endpoints/": {"pk": "{endpoint}"},
    "manage/notifications/outbox/": {"pk": "{delivery}"},
    "manage/notifications/templates/": {"event": "task_opened", "language": "zh-hans"},
}
FORMS = {
    "comment": {"comment": "Looks fine"},
    "terminate": {"comment": "Stop"},
    "withdraw": {"comment": "Not needed"},
    "complete": TEST_PASS,
    "transfer": {"to_user": "test_erin"},
    "skip": {"reason": "Deployed by hand"},
}
CODES = {"login": "L", 200: "O", 302: "R", 400: "B", 403: "F", 404: "N", 405: "M", 422: "U"}


def rows() -> list[tuple[str, str, list[str]]]:
    """(pattern, action or "", cells) of every TABLE line."""
    found = []
    for line in TABLE.strip().splitlines()[1:]:
        pattern, *action = line.split()[:-8]
        found.append(("" if pattern == "/" else pattern, "".join(action), line.split()[-8:]))
    return found


def patterns(resolver: URLResolver | None = None, prefix: str = "") -> set[str]:
    """Every URL pattern of the project as one string, e.g. "tickets/<str:sn>/print/"."""
    found = set()
    for entry in (resolver or get_resolver()).url_patterns:
        route = prefix + str(entry.pattern)
        if route.startswith(SKIPPED):
            continue
        if isinstance(entry, URLResolver):
            found |= patterns(entry, route)
        elif isinstance(entry, URLPattern):
            found.add(route)
    return found


@pytest.fixture
def world(users, release_service):
    """Demo users plus nobody, owner and designer; pm_alice's ticket waiting for test_bob."""
    nobody, _changes = do_save_user("nobody", actor=None)
    designer, _changes = do_save_user("designer", actor=None)
    for user in (nobody, designer):
        do_set_password(user, "pw-for-tests", actor=None)
    do_grant_admin_permission(designer, WORKFLOW_DESIGNERS, actor=None)
    do_grant_admin_permission(users.ops_frank, SERVICE_OWNERS, actor=None)
    do_save_service(
        "app-release",
        name=release_service.name,
        workflow=release_service.workflow,
        directory=release_service.directory,
        owners=[users.admin, users.ops_frank],
        actor=None,
    )
    ticket = actions.do_submit_ticket(
        release_service,
        actor=users.pm_alice,
        title="Release 2.4.1",
        business=Business.objects.get(key="game-a"),
        values=SUBMIT,
    )
    run_automation()  # the package check, as the worker would: the ticket waits for test_bob
    token, _raw = do_create_token(users.pm_alice, actor=None)
    upload = SimpleUploadedFile("notes.txt", b"notes")
    attachment = actions.do_upload_attachment(upload, actor=users.pm_alice)
    run = unstarted_run(users.pm_alice)  # its step's operator is ops_frank (the owner here)
    do_save_calendar("office", actor=None)
    room = do_save_endpoint(None, name="ops", kind="slack", url="https://c.example/", actor=None)
    return {
        "menu": "changes",
        "sn": ticket.sn,
        "pk": ticket.tasks.get(status=Task.Status.OPEN).pk,
        "key": "app-release",
        "username": "pm_alice",
        "change": "add",
        "uidb64": "MQ",
        "token": "set-password",
        "token_pk": token.pk,
        "attachment": attachment.pk,
        "run": run.pk,
        "run_sn": run.ticket.sn,
        "endpoint": room.pk,
        "delivery": ticket.deliveries.filter(channel=Delivery.Channel.EMAIL).first().pk,
    }


def url(pattern: str, action: str, world: dict) -> str:
    prefix = next((p for p in PLACES if pattern.startswith(p) and pattern != p), None)
    values = {**world, **PLACES.get(prefix, {}), "action": action}
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), pattern)
    return "/" + path.format(**world)


def client_of(who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(User.objects.get(username="ops_frank" if who == "owner" else who))
    return client


def data_state() -> tuple:
    """Everything a page or form of the matrix could change."""
    return (
        list(Ticket.objects.values_list("sn", "status", "state")),
        Event.objects.count(),
        list(Task.objects.values_list("pk", "status", "assignee")),
        Follow.objects.count(),
        list(RoleMembership.objects.values_list("pk", flat=True)),
        list(ApiToken.objects.values_list("pk", "revoked_at")),
        list(Workflow.objects.values_list("key", "draft")),
        WorkflowVersion.objects.count(),
        list(Service.objects.values_list("key", "name", "version", "directory", "visibility")),
        list(CatalogDirectory.objects.values_list("key", "name", "parent")),
        list(Business.objects.values_list("key", "name", "is_active")),
        list(Role.objects.values_list("key", "name")),
        list(Profile.objects.values_list("user__username", "display_name", "language")),
        list(Group.objects.values_list("name", "user__username")),
        Attachment.objects.count(),
        list(AutomationRun.objects.values_list("pk", "status")),
        list(WorkCalendar.objects.values_list("name", "timezone", "weekdays", "start", "end")),
        list(Endpoint.objects.values_list("pk", "name", "url", "secret", "events", "is_active")),
        Delivery.objects.count(),
        list(Delivery.objects.values_list("pk", "status", "next_attempt_at")),
        list(NotificationTemplate.objects.values_list("event", "language", "subject")),
    )


def outcome(response, changed: bool) -> str:
    status = response.status_code
    if status == 302 and response["Location"].startswith("/accounts/login/"):
        status = "login"
    return CODES[status].lower() if changed else CODES[status]


@contextmanager
def isolated() -> Iterator[None]:
    """A savepoint rolled back afterwards, so that every cell starts from the same world. It is
    marked as the test case's own, as pytest-django's are, so the actions' durable blocks run."""
    block = transaction.atomic()
    block._from_testcase = True
    with block:
        yield
        transaction.set_rollback(True)


def observe(pattern: str, action: str, world: dict) -> list[str]:
    """The row's cells as TABLE spells them."""
    path = url(pattern, action, world)
    cells = []
    for who in WHO:
        cell = ""
        for method, data in (("get", None), ("post", {**FORM, **FORMS.get(action, {})})):
            with isolated():
                before = data_state()
                response = getattr(client_of(who), method)(path, data)
                cell += outcome(response, data_state() != before)
        cells.append(cell)
    return cells


@pytest.mark.slow  # about a thousand requests
@pytest.mark.parametrize(("pattern", "action", "cells"), rows())
def test_page_answers_each_kind_of_user_as_the_table_says(world, pattern, action, cells):
    assert observe(pattern, action, world) == cells


def test_every_url_pattern_has_a_row():
    assert patterns() == {pattern for pattern, _action, _cells in rows()}


def test_the_table_tells_refusals_from_changes():
    """Guards the harness: the table holds allowed changes as well as each kind of refusal."""
    cells = "".join("".join(cells) for *_, cells in rows())
    assert {"L", "F", "N", "M", "r", "o"} <= set(cells)
