"""`flowdesk token create USER [--name N]` – print a new API token for a user."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from flowdesk.api.actions import do_create_token


class Command(BaseCommand):
    help = "Create API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, parser_class=CommandParser)
        create = sub.add_parser("create", help="create a token and print it (shown only once)")
        create.add_argument("username")
        create.add_argument("--name", default="", help="what the token is for")

    def handle(self, *args: object, verb: str, username: str, name: str, **_: object) -> None:
        try:
            user = get_user_model().objects.get(username=username, is_active=True)
        except get_user_model().DoesNotExist:
            raise CommandError(f"username: no active user {username!r}", returncode=1) from None
        _token, raw = do_create_token(user, name=name, actor=None)
        self.stdout.write(raw)
