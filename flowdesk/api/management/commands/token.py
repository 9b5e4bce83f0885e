"""`flowdesk token create USER [--name N] [--scope read|write] [--expires 90d|12h|never]` – print
a new API token for a user."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from flowdesk.api.actions import do_create_token, token_expiry
from flowdesk.api.models import SCOPES


class Command(BaseCommand):
    help = "Create API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, parser_class=CommandParser)
        create = sub.add_parser("create", help="create a token and print it (shown only once)")
        create.add_argument("username")
        create.add_argument("--name", default="", help="what the token is for")
        create.add_argument(
            "--scope", choices=SCOPES, default="write", help="read: GET only (default: write)"
        )
        create.add_argument(
            "--expires",
            default="",
            help="lifetime: 90d, 12h or never (default: FLOWDESK_TOKEN_DEFAULT_DAYS)",
        )

    def handle(
        self, *args: object, username: str, name: str, scope: str, expires: str, **_: object
    ) -> None:
        try:
            expires_at = token_expiry(expires)
        except ValueError as error:
            raise CommandError(f"--expires: {error}", returncode=2) from None
        try:
            user = get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"username: no active user {username!r}", returncode=1) from None
        _token, raw = do_create_token(
            user, name=name, scope=scope, expires_at=expires_at, actor=None
        )
        self.stdout.write(raw)
