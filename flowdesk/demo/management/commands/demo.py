"""`flowdesk demo` – load the seed scenario (idempotent) and print the logins."""

from django.core.management.base import BaseCommand, CommandParser

from flowdesk.demo.loader import load_demo


class Command(BaseCommand):
    help = "Load the demo: the application release process of Game A and Game B."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--password", help="password for every demo user")

    def handle(self, *args: object, password: str | None, **options: object) -> None:
        report = load_demo(password)
        self.stdout.write(f"Demo loaded: workflow app-release version {report.workflow_version}.")
        self.stdout.write(f"Every demo user's password: {report.password}")
        for username, role in report.logins:
            self.stdout.write(f"  {username:<10} {role}")
