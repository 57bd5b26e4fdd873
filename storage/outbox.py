"""The outbox: messages owed to Slack, claimed with conditional updates so no two senders send one."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from sqlalchemy import and_, bindparam, case, or_, update
from sqlmodel import Session, col, func, select

from states import OutboxStatus
from storage.inserts import insert_ignoring_duplicates
from storage.models import OutboxMessage


def enqueue(*, session: Session, team_id: str, key: str, channel_id: str, text: str, blocks: str, purpose: str,
            at: datetime, initiative_id: int | None = None, subject_id: int | None = None,
            method: str = "chat.postMessage", thread_key: str | None = None, target_key: str | None = None,
            due_at: datetime | None = None, user_id: str | None = None, reply_url: str | None = None) -> bool:
    """Queue a message under an idempotency key; return False when that key was queued before."""
    values = dict(team_id=team_id, key=key, initiative_id=initiative_id, method=method, channel_id=channel_id,
                  thread_key=thread_key, target_key=target_key, user_id=user_id, text=text, blocks=blocks,
                  purpose=purpose, subject_id=subject_id, status=OutboxStatus.PENDING, attempts=0, reply_url=reply_url,
                  due_at=due_at or at, next_attempt_at=at, version=0, created_at=at)
    return insert_ignoring_duplicates(session=session, model=OutboxMessage, values=values,
                                      conflict=["team_id", "key"]) is not None


def _is_due(now: datetime):
    """Pending rows whose time has come, and sending rows whose claim has lapsed."""
    return or_(
        and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_until < now),
    )


def due_ids(*, session: Session, now: datetime, limit: int) -> list[int]:
    """Ids of pending rows whose time has come and of sending rows whose claim has lapsed."""
    return list(session.exec(select(OutboxMessage.id).where(_is_due(now)).order_by(OutboxMessage.id).limit(limit)))


class DueRow(NamedTuple):
    """What the sender needs of a due row before claiming it: where it goes, how, and whether it was tried."""

    id: int
    team_id: str
    channel_id: str
    method: str
    purpose: str
    pending: bool  # False: a lapsed claim, taken again at once (it was paced before)
    unsure: bool  # an earlier attempt may have reached Slack: it looks in history first


def due_rows(*, session: Session, now: datetime, limit: int) -> list[DueRow]:
    """The rows `due_ids` would give, with what the pacer and the sender's order need."""
    statement = (
        select(OutboxMessage.id, OutboxMessage.team_id, OutboxMessage.channel_id, OutboxMessage.method,
               OutboxMessage.purpose, OutboxMessage.status == OutboxStatus.PENDING,
               col(OutboxMessage.unsure_until).is_not(None))
        .where(_is_due(now)).order_by(OutboxMessage.id).limit(limit)
    )
    return [DueRow(*row) for row in session.exec(statement)]


def defer(*, session: Session, slots: list[tuple[int, datetime]], now: datetime) -> int:
    """Move pending rows on to the moments reserved for them (Slack's pace), unless a sender took them."""
    moved = 0
    for message_id, until in slots:
        result = session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.status) == OutboxStatus.PENDING,
                   col(OutboxMessage.next_attempt_at) <= now)
            .values(next_attempt_at=until)
        )
        moved += result.rowcount
    return moved


def remember_file(*, session: Session, row: OutboxMessage, file_id: str | None) -> bool:
    """Record on a claimed row the upload made for it (or forget one Slack no longer has)."""
    result = session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == row.id, col(OutboxMessage.version) == row.version)
        .values(file_id=file_id)
    )
    row.file_id = file_id
    return result.rowcount == 1


def claim(*, session: Session, message_id: int, now: datetime, lease: timedelta) -> tuple[OutboxMessage | None, bool]:
    """Take a due row for this sender: (row or None when another sender took it, whether a lapsed claim was taken).

    A lapsed claim means a sender died while sending: Slack may already hold the message, so the row is
    marked unsure (up to the end of the lapsed lease) until a look-up in Slack settles it. The first
    claim's moment is kept: history is searched from there.
    """
    row = session.get(OutboxMessage, message_id)
    if row is None:
        return None, False
    lapsed = row.status == OutboxStatus.SENDING and row.claimed_until is not None and row.claimed_until < now
    claimable = (row.status == OutboxStatus.PENDING and row.next_attempt_at <= now) or lapsed
    if not claimable:
        return None, False
    result = session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message_id, col(OutboxMessage.version) == row.version)
        .values(status=OutboxStatus.SENDING, claimed_until=now + lease, version=row.version + 1,
                attempts=row.attempts + 1,
                unsure_until=max(row.unsure_until, row.claimed_until) if lapsed and row.unsure_until
                else (row.claimed_until if lapsed else row.unsure_until),
                first_attempt_at=row.first_attempt_at or now)
    )
    if result.rowcount != 1:
        return None, False
    session.refresh(row)
    return row, lapsed


def claim_many(*, session: Session, message_ids: list[int], now: datetime, lease: timedelta) -> list[OutboxMessage]:
    """Take due rows for this sender in one statement (UPDATE ... RETURNING); the rows, by id, that were still due.

    The same claim as `claim`: a row another sender took meanwhile is not due any more and is left out; a
    lapsed claim is marked unsure up to the end of the lapsed lease; the first claim's moment is kept. The
    statement is built once: every message sent runs it.
    """
    if not message_ids:
        return []
    rows = session.scalars(_claim_statement(), {"ids": list(message_ids), "now": now, "lease_end": now + lease})
    return sorted(rows, key=lambda row: row.id)


@cache
def _claim_statement():
    table = OutboxMessage.__table__
    now = bindparam("now", type_=table.c.next_attempt_at.type)
    pending, sending = table.c.status == OutboxStatus.PENDING, table.c.status == OutboxStatus.SENDING
    due = or_(and_(pending, table.c.next_attempt_at <= now), and_(sending, table.c.claimed_until < now))
    later_of_both = case((and_(table.c.unsure_until.is_not(None), table.c.unsure_until > table.c.claimed_until),
                          table.c.unsure_until), else_=table.c.claimed_until)
    claim = (update(table)
             .where(table.c.id.in_(bindparam("ids", expanding=True)), due)
             .values(status=OutboxStatus.SENDING, claimed_until=bindparam("lease_end"), version=table.c.version + 1,
                     attempts=table.c.attempts + 1,
                     unsure_until=case((sending, later_of_both), else_=table.c.unsure_until),
                     first_attempt_at=func.coalesce(table.c.first_attempt_at, now))
             .returning(*table.c))
    return select(OutboxMessage).from_statement(claim)


@cache
def _finish_statement(keys: tuple[str, ...]):
    """UPDATE of a claimed row's outcome, built once for each set of columns: every message sent runs one."""
    table = OutboxMessage.__table__
    return (update(table)
            .where(table.c.id == bindparam("claimed_id"), table.c.version == bindparam("claimed_version"))
            .values(version=bindparam("next_version"), claimed_until=None,
                    **{key: bindparam(f"new_{key}") for key in keys}))


def finish(*, session: Session, row: OutboxMessage, values: dict) -> bool:
    """Record the outcome of a claimed row, if the claim is still ours."""
    keys = tuple(sorted(values))
    result = session.connection().execute(_finish_statement(keys), {
        "claimed_id": row.id, "claimed_version": row.version, "next_version": row.version + 1,
        **{f"new_{key}": value for key, value in values.items()}})
    return result.rowcount == 1


def finish_all(*, session: Session, rows: list[OutboxMessage], values: list[dict]) -> bool:
    """Record the outcomes of claimed rows (the same columns for each) in one statement: True when every claim was
    still ours; False when any was lost, and the caller must roll back and record each with `finish`."""
    if not rows:
        return True
    keys = tuple(sorted(values[0]))
    result = session.connection().execute(_finish_statement(keys), [
        {"claimed_id": row.id, "claimed_version": row.version, "next_version": row.version + 1,
         **{f"new_{key}": value[key] for key in keys}} for row, value in zip(rows, values, strict=True)])
    return result.rowcount == len(rows)


def by_key(*, session: Session, team_id: str, key: str) -> OutboxMessage | None:
    """The message queued under a key."""
    return session.exec(
        select(OutboxMessage).where(OutboxMessage.team_id == team_id, OutboxMessage.key == key)
    ).first()


def undelivered_for_initiative(*, session: Session, initiative_id: int, limit: int = 5) -> list[OutboxMessage]:
    """Messages of an initiative that failed at least once and are not yet delivered."""
    statement = (
        select(OutboxMessage)
        .where(
            OutboxMessage.initiative_id == initiative_id,
            col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING, OutboxStatus.FAILED]),
            col(OutboxMessage.last_error).is_not(None),
        )
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(session.exec(statement))


def oldest_overdue(*, session: Session, now: datetime, grace: timedelta) -> OutboxMessage | None:
    """The oldest message that should have reached Slack more than `grace` ago."""
    statement = (
        select(OutboxMessage)
        .where(col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]),
               OutboxMessage.due_at < now - grace)
        .order_by(OutboxMessage.due_at)
        .limit(1)
    )
    return session.exec(statement).first()


def next_due_at(*, session: Session) -> datetime | None:
    """When the next pending message falls due."""
    return session.exec(
        select(func.min(OutboxMessage.next_attempt_at)).where(OutboxMessage.status == OutboxStatus.PENDING)
    ).one()
