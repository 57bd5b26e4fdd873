"""The layer contracts (import-linter, pyproject.toml) hold, and they catch a violation planted in any file."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    # The copy under test comes first on the path, ahead of the installed (editable) packages.
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)


def test_the_layers_keep_their_contracts():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("path", "line", "contract"), [
    ("bot/domain/cadence.py", "import sqlmodel", "The rules are pure"),
    ("bot/domain/gates.py", "from messages import render", "The rules are pure"),
    ("messages/render.py", "from storage import repository", "Messages know nothing of storage"),
    ("storage/models.py", "import bot.config", "Storage knows nothing of the bot"),
    ("bot/listeners/commands.py", "from storage import repository", "Listeners reach storage only"),
    ("bot/services/notify.py", "import slack_bolt", "Flows know nothing of listeners or Bolt"),
])
def test_a_planted_violation_breaks_the_build(tmp_path, path, line, contract):
    for package in ("bot", "storage", "messages", "states"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    planted = tmp_path / path
    planted.write_text(planted.read_text() + f"\n{line}  # planted\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert f"{contract}" in result.stdout and "BROKEN" in result.stdout, result.stdout
