"""The engine, sessions and schema upgrades; nothing is opened at import time."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlmodel import Session, select

log = logging.getLogger(__name__)
T = TypeVar("T")
MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys on every connection."""
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=False,
                               connect_args={"check_same_thread": False})
        # SQLite has one writer at a time. In this process, writers queue on a lock instead of on
        # SQLite's busy handler, which sleeps in steps and turns contention into long tail latencies.
        # Other processes (a cron sweep) still meet busy_timeout.
        writer = threading.Lock()

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()
            # SQLAlchemy's own BEGIN is replaced below (deferred for readers, IMMEDIATE for writers).
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(connection):
            if connection.get_execution_options().get(READ_ONLY):
                # WAL readers never block and are never blocked.
                connection.exec_driver_sql("BEGIN")
                return
            writer.acquire()
            connection.info["steward_writer"] = True
            try:
                # Take the write lock at once, so two writers queue instead of failing on upgrade.
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                connection.info.pop("steward_writer", None)
                writer.release()
                raise

        def _release(connection):
            if connection.info.pop("steward_writer", False):
                writer.release()

        event.listen(engine, "commit", _release)
        event.listen(engine, "rollback", _release)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=10)


READ_ONLY = "steward_read_only"


def _read_only(engine: Engine) -> Engine:
    """The engine marked read-only, made once per engine (every request reads through it)."""
    marked = engine.__dict__.get("_steward_read_only")
    if marked is None:
        marked = engine.__dict__["_steward_read_only"] = engine.execution_options(**{READ_ONLY: True})
    return marked


@contextmanager
def read_scope(engine: Engine) -> Iterator[Session]:
    """Yield a session for reading only (on SQLite it takes no write lock)."""
    # Closing (not rolling back) keeps what was read usable after the block; the pool ends the transaction.
    with Session(_read_only(engine), expire_on_commit=False) as session:
        yield session


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


# An arbitrary 64-bit key, the same in every Steward process: the PostgreSQL advisory lock of upgrades.
UPGRADE_LOCK_KEY = 0x5757_4152_4455_5047


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision`, one process at a time (replicas may start together)."""
    with _upgrade_lock(engine) as connection:
        config = alembic_config(engine)
        if connection is not None:
            config.attributes["connection"] = connection
        command.upgrade(config, revision)


@contextmanager
def _upgrade_lock(engine: Engine) -> Iterator[Connection | None]:
    """Hold the database's upgrade lock: an advisory lock on PostgreSQL, a lock file beside a SQLite file.

    The second process waits, then finds the schema already at head and does nothing.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": UPGRADE_LOCK_KEY})
            connection.commit()
            try:
                yield connection  # the migrations run on the connection that holds the lock
            finally:
                connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": UPGRADE_LOCK_KEY})
                connection.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield None
        return
    import fcntl

    with open(f"{database}.upgrade-lock", "a+") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield None
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        try:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:
            return None


def ping(engine: Engine) -> None:
    """Raise if the database does not answer."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


# PostgreSQL aborts one of two transactions that wait on each other (deadlock_detected) and, under
# serializable isolation, one that read what another changed (serialization_failure). Both are safe to run again.
RETRYABLE_SQLSTATES = {"40P01", "40001"}
RETRIES = 2  # runs after the first: enough for a collision, not a loop


def is_retryable(error: BaseException) -> bool:
    """True when the database aborted the transaction for a deadlock or a serialization failure."""
    original = getattr(error, "orig", None)
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    return code in RETRYABLE_SQLSTATES


def retrying(work: Callable[[], T], *, retries: int = RETRIES) -> T:
    """Run `work` (which opens and commits its own transaction); run it again if PostgreSQL aborted it for a
    deadlock or a serialization failure, up to `retries` times, before the error reaches anyone."""
    for attempt in range(retries + 1):
        try:
            return work()
        except Exception as error:
            if attempt == retries or not is_retryable(error):
                raise
            log.warning("transaction aborted (%s); running it again (%d of %d)",
                        getattr(getattr(error, "orig", None), "sqlstate", "?"), attempt + 1, retries)
    raise AssertionError("unreachable")


def lock_row(*, session: Session, model: type, key: object) -> object | None:
    """Lock one row for the rest of the transaction (FOR UPDATE on PostgreSQL; SQLite has one writer anyway).

    The lock order of Steward's write transactions (documented in the README): the initiative row first, then
    the workspace's counters, then incidents and reviews, and the audit head last.
    """
    # FOR NO KEY UPDATE: a row that only changes non-key columns; inserts referencing it (an incident's foreign
    # key takes FOR KEY SHARE) are not blocked, so they cannot close a cycle with this lock.
    return session.exec(select(model).where(next(iter(model.__table__.primary_key.columns)) == key)
                        .with_for_update(key_share=True)).first()
