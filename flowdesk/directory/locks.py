"""The directory lock: orders ticket actions against role-membership changes.

A ticket action reads role memberships (the engine resolves who may take a step) and writes
the candidate rows of the steps it opens and closes; a membership change reads the open tasks
that draw on the role and adds or removes the member's candidate rows. Side by side, each
could miss the other's uncommitted rows: a step opened without the new member, a closed step
keeping a candidate. So ticket actions hold this lock shared – any number at once – and
membership changes hold it exclusive, each until it commits.

Lock order, which keeps all of this free of deadlocks: the ticket row, then this lock, then
the audit chain (taken by the first audit entry and held to the commit). A transaction that
changes memberships therefore takes the lock before its first audit entry: the membership
actions take it at once, and callers that write other entries first in the same transaction
(the admin's role page, the directory import) take it at their start.

PostgreSQL: a transaction-level advisory lock. SQLite: nothing to do; its transactions take
the database's write lock at BEGIN (IMMEDIATE), one at a time.
"""

from django.db import connection

# Any fixed 64-bit number no other user of pg_advisory_* on this database picks.
LOCK_KEY = 0x666C6F77646972  # "flowdir"


def hold_directory_shared() -> None:
    """For a ticket action, before it reads memberships or writes candidates."""
    _lock("pg_advisory_xact_lock_shared")


def hold_directory_exclusive() -> None:
    """For a transaction that changes role memberships, before its first audit entry."""
    _lock("pg_advisory_xact_lock")


def _lock(function: str) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {function}(%s)", [LOCK_KEY])
