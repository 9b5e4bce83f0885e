"""The service layer's fixed sentences, marked for translation.

Actions and the engine speak English; pages pass their messages through gettext (see
tickets.forms.StepForm.add_engine_errors), so a sentence listed here reaches the reader in
their language. Sentences with names or numbers in them stay in English.
"""

from django.utils.translation import gettext_noop

MESSAGES = [
    gettext_noop("This field is required."),
    gettext_noop("Enter a title."),
    gettext_noop("Enter at most 200 characters."),
    gettext_noop("Choose the business this request is for."),
    gettext_noop("Enter text."),
    gettext_noop("Enter a single line of text."),
    gettext_noop("Enter a whole number."),
    gettext_noop("Enter a number."),
    gettext_noop("Enter true or false."),
    gettext_noop("Enter a date as YYYY-MM-DD."),
    gettext_noop("Enter a date and time in ISO 8601 with a time zone, e.g. 2026-11-27T10:00:00Z."),
    gettext_noop("Enter a URL starting with http://, https://, ftp:// or s3://."),
    gettext_noop("Enter an e-mail address."),
    gettext_noop("Enter a valid e-mail address."),
    gettext_noop("Enter a username."),
    gettext_noop("Enter a value in the expected format."),
    gettext_noop("Enter a 32-character hexadecimal MD5 checksum."),
    gettext_noop("Enter a 64-character hexadecimal SHA-256 checksum."),
    gettext_noop("Say why the ticket goes back."),
    gettext_noop("Say why the ticket is suspended."),
    gettext_noop("Say why the ticket is terminated."),
    gettext_noop("Write a comment."),
    gettext_noop("Claim this task before acting on it."),
    gettext_noop("The ticket is suspended."),
    gettext_noop("This step does not need to be claimed; act on it directly."),
    gettext_noop("You are not a handler of this step."),
    gettext_noop("Only the requester or a follower may urge this ticket."),
    gettext_noop("This task is no longer open."),
    gettext_noop("You submitted this request, so you may not approve or reject it."),
    gettext_noop("Only a Flowdesk admin may override separation of duties."),
    gettext_noop("Say why separation of duties is overridden."),
]
