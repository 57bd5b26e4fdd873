import os
import shutil
from pathlib import Path

import pytest

from bot.localslack.webapi import LocalSlack
from storage.db import make_engine, upgrade
from tests.harness import Steward, make_settings

_TEMPLATE: dict[str, Path] = {}


ON_POSTGRES = os.environ.get("STEWARD_TEST_DATABASE") == "postgres"


def _postgres_admin_url() -> str:
    url = os.environ.get("STEWARD_TEST_POSTGRES_URL")
    if not url:
        # A missing server fails the run; it never quietly falls back to SQLite.
        pytest.exit("STEWARD_TEST_DATABASE=postgres but STEWARD_TEST_POSTGRES_URL is not set (see .ci/postgres.sh)",
                    returncode=3)
    return url


def _postgres_database(name: str) -> str:
    """A fresh PostgreSQL database cloned from one migrated template; returns its URL."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(_postgres_admin_url())
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if "postgres" not in _TEMPLATE:
            connection.execute(text("DROP DATABASE IF EXISTS steward_template WITH (FORCE)"))
            connection.execute(text("CREATE DATABASE steward_template"))
            template_engine = make_engine(admin_url.set(database="steward_template").render_as_string(False))
            upgrade(template_engine)
            template_engine.dispose()
            _TEMPLATE["postgres"] = "steward_template"
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE steward_template'))
    admin.dispose()
    return admin_url.set(database=name).render_as_string(False)


def _drop_postgres_database(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def database_url(tmp_path, tmp_path_factory, request):
    """A migrated database of its own for each test: SQLite by default, PostgreSQL when CI asks for it.

    A test marked `postgres` (row locks, deadlocks) always runs on PostgreSQL, in both passes of .ci/run;
    without a server it fails, it never skips.
    """
    if request.node.get_closest_marker("postgres") is not None and not os.environ.get("STEWARD_TEST_POSTGRES_URL"):
        pytest.fail("this test needs PostgreSQL: set STEWARD_TEST_POSTGRES_URL (`bash .ci/run` starts a server)")
    if ON_POSTGRES or request.node.get_closest_marker("postgres") is not None:
        import uuid

        name = f"t_{uuid.uuid4().hex[:16]}"
        yield _postgres_database(name)
        _drop_postgres_database(name)
        return
    if "sqlite" not in _TEMPLATE:
        template = tmp_path_factory.mktemp("template") / "template.db"
        engine = make_engine(f"sqlite:///{template}")
        upgrade(engine)
        engine.dispose()
        _TEMPLATE["sqlite"] = template
    path = tmp_path / "steward.db"
    shutil.copy(_TEMPLATE["sqlite"], path)
    yield f"sqlite:///{path}"


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with no schema at all (migrations tests): SQLite by default, PostgreSQL when CI asks for it."""
    if ON_POSTGRES:
        import uuid

        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        name = f"e_{uuid.uuid4().hex[:16]}"
        admin = create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        yield make_url(_postgres_admin_url()).set(database=name).render_as_string(False)
        _drop_postgres_database(name)
        return
    yield f"sqlite:///{tmp_path / 'empty.db'}"


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
        ours = name.startswith(("SLACK_", "STEWARD_")) or name == "DATABASE_URL"
        if ours and name not in ("STEWARD_TEST_DATABASE", "STEWARD_TEST_POSTGRES_URL"):
            monkeypatch.delenv(name, raising=False)
