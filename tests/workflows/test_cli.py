"""`flowdesk workflow ...`: exit codes, `path: message` output, import/export round trips."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from flowdesk.engine.document import load_document
from flowdesk.workflows.models import Workflow

pytestmark = pytest.mark.django_db
EXAMPLE = Path(__file__).parents[2] / "examples" / "app-release.yaml"


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("workflow", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def run_invalid(*args: str) -> list[str]:
    """Run a command that must fail with exit status 1; return its stderr lines."""
    err = StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("workflow", *args, stdout=StringIO(), stderr=err)
    assert caught.value.returncode == 1
    return err.getvalue().strip().splitlines()


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    document = load_document(EXAMPLE.read_text())
    document["nodes"][1]["operators"] = [{"type": "business_role", "role": "tester"}]
    document["transitions"].append({"from": "release", "to": "nowhere"})
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True))
    return path


def test_validate_a_good_file(demo):
    out, _ = run("validate", str(EXAMPLE))
    assert "valid" in out


def test_validate_prints_each_problem_with_its_path_and_fails(demo, broken):
    lines = run_invalid("validate", str(broken))
    assert any(line.startswith("nodes[1].operators[0]") and "tester" in line for line in lines)
    assert any(line.startswith("transitions[8]") and "nowhere" in line for line in lines)


def test_import_refuses_an_invalid_file_and_saves_nothing(db, broken):
    run_invalid("import", str(broken))
    assert not Workflow.objects.exists()


def test_unreadable_and_unparsable_files_are_invalid_input(db, tmp_path):
    assert "No such file" in run_invalid("validate", str(tmp_path / "missing.yaml"))[0]
    bad = tmp_path / "bad.yaml"
    bad.write_text("key: [unclosed\n")
    assert run_invalid("validate", "--offline", str(bad))[0].startswith("line ")


def test_import_deploy_export_round_trip(demo, tmp_path):
    document = load_document(EXAMPLE.read_text())
    document["name"]["en"] = "Application release (v2)"
    path = tmp_path / "release.json"
    path.write_text(json.dumps(document, ensure_ascii=False))
    out, _ = run("import", str(path), "--deploy")
    assert "deployed app-release version 2" in out
    out, _ = run("deploy", "app-release")
    assert "unchanged since app-release version 2" in out
    exported, _ = run("export", "app-release", "--version", "1")
    assert load_document(exported)["name"]["en"] == "Application release"
    exported, _ = run("export", "app-release", "--format", "json")
    assert load_document(exported, filename="x.json") == document


def test_export_of_a_missing_version_fails_cleanly(demo):
    with pytest.raises(CommandError, match="no version 9"):
        run("export", "app-release", "--version", "9")


def test_console_script_exit_codes(tmp_path, broken):
    """The real `flowdesk` entry point: 1 for invalid input (stderr lines), 2 for usage."""
    env = {**os.environ, "FLOWDESK_DATA_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    cmd = [sys.executable, "-m", "flowdesk"]
    subprocess.run([*cmd, "migrate", "-v0"], env=env, check=True)
    usage = subprocess.run([*cmd, "workflow"], env=env, capture_output=True, text=True)
    assert usage.returncode == 2
    invalid = subprocess.run(
        [*cmd, "workflow", "validate", str(broken)], env=env, capture_output=True, text=True
    )
    assert invalid.returncode == 1
    lines = invalid.stderr.strip().splitlines()
    assert any(line.startswith("transitions[") and "nowhere" in line for line in lines), lines
    assert any(line.startswith("nodes[1].operators[0]") for line in lines), lines
    # An empty directory has no roles yet: the example names unknown roles, unless offline.
    checked = subprocess.run(
        [*cmd, "workflow", "validate", str(EXAMPLE)], env=env, capture_output=True, text=True
    )
    assert checked.returncode == 1 and "product" in checked.stderr
    offline = subprocess.run([*cmd, "workflow", "validate", "--offline", str(EXAMPLE)], env=env)
    assert offline.returncode == 0
