"""`flowdesk directory import FILE [--dry-run]` – keep people and roles in step with a file."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from flowdesk.directory.importer import (
    Problem,
    apply_directory,
    check_directory,
    read_directory_file,
)

INVALID, USAGE = 1, 2


class Command(BaseCommand):
    help = "Import people, businesses, roles and role members from a JSON or CSV file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, parser_class=CommandParser)
        imp = sub.add_parser(
            "import",
            help="create or update what the file lists; its member lists replace the current ones",
        )
        imp.add_argument("file", help="a .json or .csv file (see docs/directory.md)")
        imp.add_argument(
            "--dry-run", action="store_true", help="report what would change, change nothing"
        )

    def handle(self, *args: object, verb: str, **options: object) -> None:
        getattr(self, f"_{verb}")(**options)

    def _import(self, file: str, dry_run: bool, **_: object) -> None:
        path = Path(file)
        fmt = path.suffix.lower().lstrip(".")
        if fmt not in ("json", "csv"):
            raise CommandError(f"{file}: the name must end in .json or .csv", returncode=USAGE)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise self._invalid([Problem("file", "not UTF-8 text")]) from None
        except OSError as exc:
            raise CommandError(f"{file}: {exc.strerror}", returncode=USAGE) from exc
        data = read_directory_file(text, fmt)
        with transaction.atomic(durable=True):
            if problems := check_directory(data):
                raise self._invalid(problems)
            try:
                report = apply_directory(data, actor=None)
            except ValidationError as exc:  # the database changed under us since the check
                raise self._invalid(
                    [Problem(name, m) for name, ms in exc.message_dict.items() for m in ms]
                ) from exc
            if dry_run:
                transaction.set_rollback(True)
        for line in report.lines:
            self.stdout.write(line)
        note = " (dry run: nothing was written)" if dry_run else ""
        self.stdout.write(f"{report.summary()}{note}")

    def _invalid(self, problems: list[Problem]) -> CommandError:
        """Print each problem as `path: message`; the error to raise exits with status 1."""
        for problem in problems:
            self.stderr.write(str(problem))
        return CommandError(
            f"{len(problems)} problem(s) found; nothing was changed", returncode=INVALID
        )
