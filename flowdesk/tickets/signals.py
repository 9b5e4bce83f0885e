"""Signals other apps listen to, to add their rows to a ticket action's transaction.

`ticket_events` is sent by `persistence.append_events` inside the action's transaction, after
the events are written: receivers (notifications, timers, automation) write their outbox rows,
timers and runs in that same transaction, so they commit or roll back with the action.
Arguments: `ticket` (locked), `events` (the new `Event` rows, in order) and `closed` (the
`Task` rows the action closed: a step closes without an event of its own).
"""

from django.dispatch import Signal

ticket_events = Signal()
