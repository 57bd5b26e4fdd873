import os
import shutil
from pathlib import Path

import pytest

from bot.localslack.webapi import LocalSlack
from storage.db import make_engine, upgrade
from tests.harness import Steward, make_settings

_TEMPLATE: dict[str, Path] = {}


@pytest.fixture
def database_url(tmp_path, tmp_path_factory):
    """A migrated SQLite database of its own for each test (copied from one migrated template)."""
    if "sqlite" not in _TEMPLATE:
        template = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        _TEMPLATE["sqlite"] = template
    path = tmp_path / "steward.db"
    shutil.copy(_TEMPLATE["sqlite"], path)
    return f"sqlite:///{path}"


@pytest.fixture
def slack():
    server = LocalSlack().start()
    server.add_channel("C0OPS", "ai-ops")
    yield server
    server.stop()


@pytest.fixture
def settings(database_url, slack):
    return make_settings(database_url=database_url, slack=slack)


@pytest.fixture
def steward(settings, slack):
    bot = Steward(slack=slack, settings=settings)
    yield bot
    bot.stop()


@pytest.fixture(autouse=True)
def _no_slack_env(monkeypatch):
    for name in list(os.environ):
        if name.startswith(("SLACK_", "STEWARD_")) or name == "DATABASE_URL":
            monkeypatch.delenv(name, raising=False)
