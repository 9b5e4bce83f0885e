"""Who may act on open tasks: written when a task opens, kept in step with role membership."""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.db.models import Q

from flowdesk.directory.models import Business, Role, RoleMembership
from flowdesk.tickets.models import Task, TaskCandidate, TaskSource, TicketParticipant

User = get_user_model()


def users_by_name(usernames: Iterable[str]) -> dict[str, int]:
    names = set(usernames)
    if not names:
        return {}
    return dict(User.objects.filter(username__in=names).values_list("username", "pk"))


def set_candidates(task: Task, usernames: Iterable[str], sources: Iterable[dict] = ()) -> None:
    """Make exactly these users the task's candidates; `sources` are the role operators
    (resolved with the business) that membership changes must keep following."""
    clear_candidates(task)
    usernames = list(usernames)
    add_participants(
        task.ticket_id, add_candidates([(task, usernames, sources)], users_by_name(usernames))
    )


def add_candidates(
    tasks: list[tuple[Task, Iterable[str], Iterable[dict]]],
    users: dict[str, int],
    *,
    business: Business | None = None,
) -> list[int]:
    """Give tasks that have no candidates yet (just opened) theirs, in a fixed number of queries
    however many tasks: (task, usernames, sources) each; `users` maps the usernames to ids,
    `business` (the ticket's) saves looking its key up. Returns the candidates' user ids (the
    caller adds them to the ticket's participants)."""
    tasks = [(task, list(names), list(sources)) for task, names, sources in tasks]
    all_sources = [s for _, _, sources in tasks for s in sources]
    roles = dict(
        Role.objects.filter(key__in={s["role"] for s in all_sources}).values_list("key", "pk")
    )
    businesses = {business.key: business.pk} if business is not None else {}
    if unknown := {s.get("business") for s in all_sources} - {None, *businesses}:
        businesses |= dict(Business.objects.filter(key__in=unknown).values_list("key", "pk"))
    task_sources = TaskSource.objects.bulk_create(
        TaskSource(
            task=task, role_id=roles[s["role"]], business_id=businesses.get(s.get("business"))
        )
        for task, _, sources in tasks
        for s in sources
        if s["role"] in roles
    )
    members = list(
        RoleMembership.objects.filter(_any_source(task_sources)).values_list(
            "role_id", "business_id", "user_id"
        )
    )
    candidates = []
    for task, names, _ in tasks:
        granting = {(s.role_id, s.business_id) for s in task_sources if s.task_id == task.pk}
        from_roles = {user for role, business, user in members if (role, business) in granting}
        ids = [users[name] for name in dict.fromkeys(names) if name in users]
        candidates += [
            TaskCandidate(task=task, user_id=uid, fixed=uid not in from_roles) for uid in ids
        ]
    TaskCandidate.objects.bulk_create(candidates)
    return [c.user_id for c in candidates]


def _any_source(sources: Iterable[TaskSource]) -> Q:
    condition = Q(pk__in=[])
    for source in sources:
        condition |= Q(role_id=source.role_id, business_id=source.business_id)
    return condition


def clear_candidates(task: Task) -> None:
    """A closed task has no candidates, so to-do lists hold open tasks only."""
    TaskCandidate.objects.filter(task=task).delete()
    TaskSource.objects.filter(task=task).delete()


def add_participants(ticket_id: int, user_ids: Iterable[int]) -> None:
    TicketParticipant.objects.bulk_create(
        (TicketParticipant(ticket_id=ticket_id, user_id=uid) for uid in user_ids),
        ignore_conflicts=True,
    )


def membership_changed(*, role: Role, business: Business | None, user: object, added: bool) -> None:
    """Called by the directory actions, in their transaction, after a membership change.

    A fixed number of queries however many open tasks draw on the role."""
    task_ids = set(
        TaskSource.objects.filter(role=role, business=business).values_list("task_id", flat=True)
    )
    if added:
        TaskCandidate.objects.bulk_create(
            (TaskCandidate(task_id=pk, user=user, fixed=False) for pk in task_ids),
            ignore_conflicts=True,
        )
        tickets = Task.objects.filter(pk__in=task_ids).values_list("ticket_id", flat=True)
        TicketParticipant.objects.bulk_create(
            (TicketParticipant(ticket_id=pk, user=user) for pk in set(tickets)),
            ignore_conflicts=True,
        )
        return
    # Another of a task's roles may still grant it (the removed membership row is already gone).
    held = set(RoleMembership.objects.filter(user=user).values_list("role_id", "business_id"))
    still_granted = {
        task_id
        for task_id, role_id, business_id in TaskSource.objects.filter(
            task_id__in=task_ids
        ).values_list("task_id", "role_id", "business_id")
        if (role_id, business_id) in held
    }
    TaskCandidate.objects.filter(
        task_id__in=task_ids - still_granted, user=user, fixed=False
    ).delete()
