"""`flowdesk workflow validate|import|export|deploy` – workflows as files, reviewed like code."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from flowdesk.directory.resolver import DjangoRoleCatalog
from flowdesk.engine.document import DocumentError, dump_document, load_document
from flowdesk.engine.validation import Problem, validate_document
from flowdesk.workflows.actions import WorkflowInvalid, do_deploy_workflow, do_save_draft
from flowdesk.workflows.models import Workflow

INVALID = 1


class Command(BaseCommand):
    help = "Validate, import, export and deploy workflow documents (YAML or JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="verb", required=True, parser_class=CommandParser)
        validate = sub.add_parser("validate", help="check a document; print its problems")
        validate.add_argument("file")
        validate.add_argument(
            "--offline", action="store_true", help="check the document alone, not its roles"
        )
        imp = sub.add_parser("import", help="save a valid document as the workflow's draft")
        imp.add_argument("file")
        imp.add_argument("--deploy", action="store_true", help="deploy it as a new version too")
        export = sub.add_parser("export", help="print a workflow as a document")
        export.add_argument("key")
        export.add_argument("--version", type=int, help="a deployed version (default: draft)")
        export.add_argument("--format", choices=["yaml", "json"], default="yaml")
        deploy = sub.add_parser("deploy", help="freeze the draft as the next version")
        deploy.add_argument("key")

    def handle(self, *args: object, verb: str, **options: object) -> None:
        getattr(self, f"_{verb}")(**options)

    def _validate(self, file: str, offline: bool, **_: object) -> None:
        document = self._load(file)
        directory = None if offline else DjangoRoleCatalog()
        if problems := validate_document(document, directory=directory):
            raise self._invalid(problems)
        self.stdout.write(f"{file}: valid")

    def _import(self, file: str, deploy: bool, **_: object) -> None:
        document = self._load(file)
        try:
            workflow, _problems = do_save_draft(document, actor=None, strict=True)
            self.stdout.write(f"saved draft of {workflow.key}")
            if deploy:
                self._deploy_workflow(workflow)
        except WorkflowInvalid as exc:
            raise self._invalid(exc.problems) from exc

    def _export(self, key: str, version: int | None, format: str, **_: object) -> None:
        workflow = self._workflow(key)
        if version is None:
            document = workflow.draft
        else:
            found = workflow.versions.filter(number=version).first()
            if found is None:
                raise CommandError(f"{key} has no version {version}", returncode=INVALID)
            document = found.document
        self.stdout.write(dump_document(document, format), ending="")

    def _deploy(self, key: str, **_: object) -> None:
        try:
            self._deploy_workflow(self._workflow(key))
        except WorkflowInvalid as exc:
            raise self._invalid(exc.problems) from exc

    def _deploy_workflow(self, workflow: Workflow) -> None:
        version, created = do_deploy_workflow(workflow, actor=None)
        state = "deployed" if created else "unchanged since"
        self.stdout.write(f"{state} {workflow.key} version {version.number}")

    def _load(self, file: str) -> dict:
        path = Path(file)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise self._invalid([Problem(file, exc.strerror or str(exc))]) from exc
        try:
            return load_document(text, filename=path.name)
        except DocumentError as exc:
            raise self._invalid(exc.problems) from exc

    def _workflow(self, key: str) -> Workflow:
        try:
            return Workflow.objects.get(key=key)
        except Workflow.DoesNotExist:
            raise CommandError(f"no workflow with key {key!r}", returncode=INVALID) from None

    def _invalid(self, problems: list[Problem]) -> CommandError:
        """Print each problem as `path: message`; the error to raise exits with status 1."""
        for problem in problems:
            self.stderr.write(str(problem))
        return CommandError(f"{len(problems)} problem(s) found", returncode=INVALID)
