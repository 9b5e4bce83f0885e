"""`flowdesk audit verify|anchor|export` – check the hash chain, print an anchor, export entries."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flowdesk.audit.chain import anchor_line, verify_chain
from flowdesk.audit.export import FORMATS, export_lines
from flowdesk.audit.filtersets import AuditEntryFilterSet
from flowdesk.audit.models import AuditEntry


class Command(BaseCommand):
    help = "Verify, anchor and export the tamper-evident audit log (docs/audit.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, parser_class=CommandParser)
        verify = sub.add_parser("verify", help="check the whole hash chain; exit 1 if broken")
        verify.add_argument("--anchor", help="an anchor line printed earlier by `audit anchor`")
        sub.add_parser("anchor", help="print the latest seq and hash, to keep somewhere else")
        export = sub.add_parser("export", help="print entries as CSV or JSON")
        export.add_argument("--ticket", help="serial number: that ticket's entries")
        export.add_argument("--service", help="service key: its changes and its tickets' entries")
        export.add_argument("--since", help="first day, YYYY-MM-DD (inclusive)")
        export.add_argument("--until", help="last day, YYYY-MM-DD (inclusive)")
        export.add_argument("--format", choices=FORMATS, default="csv")

    def handle(self, *args: object, verb: str, **options: object) -> None:
        getattr(self, f"_{verb}")(**options)

    def _verify(self, anchor: str | None = None, **_: object) -> None:
        try:
            result = verify_chain(anchor)
        except ValueError as exc:
            raise CommandError(f"--anchor: {exc}", returncode=2) from None
        if not result.ok:
            raise CommandError(
                f"Audit chain broken at {result.broken} ({result.count} entries intact before it).",
                returncode=1,
            )
        checked = " and the anchor" if anchor else ""
        self.stdout.write(f"{result.count} entries, chain intact{checked}, head {result.head_hash}")

    def _anchor(self, **_: object) -> None:
        self.stdout.write(anchor_line())

    def _export(self, format: str, **options: object) -> None:
        params = {k: options[k] for k in ("ticket", "service", "since", "until") if options[k]}
        filterset = AuditEntryFilterSet(params, queryset=AuditEntry.objects.all())
        if not filterset.is_valid():
            errors = "; ".join(f"--{k}: {' '.join(v)}" for k, v in filterset.errors.items())
            raise CommandError(errors, returncode=2)
        for piece in export_lines(filterset.qs, format):
            self.stdout.write(piece, ending="")
