"""The append-only audit log: each workspace's events form a hash chain."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from storage.inserts import insert_ignoring_duplicates
from storage.models import AuditEvent, AuditHead, AuditWitness

GENESIS = "0" * 64


def canonical_payload(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(*, team_id: str, seq: int, actor: str, action: str, target: str, payload: str,
               created_at: datetime, prev_hash: str) -> str:
    """Return the hash that seals one event onto the previous one."""
    material = "\x1f".join(
        [team_id, str(seq), actor, action, target, payload, created_at.isoformat(timespec="microseconds"),
         prev_hash]
    )
    return hashlib.sha256(material.encode()).hexdigest()


def append_event(*, session: Session, team_id: str, actor: str, action: str, target: str,
                 payload: dict[str, Any], at: datetime) -> AuditEvent:
    """Append an event to the workspace's chain inside the caller's transaction."""
    _ensure_head(session, team_id)
    # The row lock on the head serialises concurrent appends on PostgreSQL; SQLite's single
    # writer does the same there.
    head = session.exec(select(AuditHead).where(AuditHead.team_id == team_id).with_for_update()).one()
    session.refresh(head)
    body = canonical_payload(payload)
    seq = head.seq + 1
    digest = event_hash(team_id=team_id, seq=seq, actor=actor, action=action, target=target, payload=body,
                        created_at=at, prev_hash=head.hash)
    event = AuditEvent(team_id=team_id, seq=seq, actor=actor, action=action, target=target, payload=body,
                       created_at=at, prev_hash=head.hash, hash=digest)
    head.seq, head.hash = seq, digest
    session.add(event)
    session.add(head)
    session.flush()
    return event


def _ensure_head(session: Session, team_id: str) -> None:
    insert_ignoring_duplicates(session=session, model=AuditHead, values={"team_id": team_id, "seq": 0,
                                                                        "hash": GENESIS})


@dataclass(frozen=True)
class ChainBreak:
    seq: int
    event_id: int | None
    reason: str


def verify_chain(*, session: Session, team_id: str) -> tuple[int, ChainBreak | None]:
    """Check a workspace's chain from the start; return the events checked and the first break."""
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    rows = session.exec(select(AuditEvent).where(AuditEvent.team_id == team_id).order_by(AuditEvent.seq))
    for event in rows:
        if event.seq != expected_seq:
            return checked, ChainBreak(expected_seq, event.id, f"event {expected_seq} is missing")
        if event.prev_hash != expected_prev:
            return checked, ChainBreak(event.seq, event.id, "does not follow the previous event")
        digest = event_hash(team_id=event.team_id, seq=event.seq, actor=event.actor, action=event.action,
                            target=event.target, payload=event.payload, created_at=event.created_at,
                            prev_hash=event.prev_hash)
        if digest != event.hash:
            return checked, ChainBreak(event.seq, event.id, "its content was changed after it was written")
        expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = session.get(AuditHead, team_id)
    if head is not None and (head.seq != checked or head.hash != expected_prev):
        return checked, ChainBreak(checked + 1, None, f"the chain ends at {checked} but its head says {head.seq}")
    return checked, None


def recent_events(*, session: Session, team_id: str, target: str, limit: int = 15) -> list[AuditEvent]:
    statement = (
        select(AuditEvent)
        .where(AuditEvent.team_id == team_id, AuditEvent.target == target)
        .order_by(AuditEvent.seq.desc())
        .limit(limit)
    )
    return list(session.exec(statement))


def event_at(*, session: Session, team_id: str, seq: int) -> AuditEvent | None:
    return session.exec(select(AuditEvent).where(AuditEvent.team_id == team_id, AuditEvent.seq == seq)).first()


def all_events(*, session: Session, team_id: str | None = None) -> Iterator[AuditEvent]:
    """Every event, oldest first per workspace (one workspace's when `team_id` is given)."""
    statement = select(AuditEvent).order_by(AuditEvent.team_id, AuditEvent.seq)
    if team_id:
        statement = statement.where(AuditEvent.team_id == team_id)
    return iter(session.exec(statement))


def workspaces(*, session: Session) -> list[str]:
    """The workspaces that have a chain (a head, or events whose head was lost)."""
    teams = set(session.exec(select(AuditHead.team_id))) | set(session.exec(select(AuditEvent.team_id)))
    return sorted(teams)


def heads(*, session: Session) -> list[AuditHead]:
    """Every workspace's chain head that has at least one event."""
    return list(session.exec(select(AuditHead).where(AuditHead.seq > 0).order_by(AuditHead.team_id)))


def add_witness(*, session: Session, head: AuditHead, day: date, channel_id: str, at: datetime) -> int | None:
    """Record that a head is witnessed today; None when the workspace's head was witnessed today already."""
    return insert_ignoring_duplicates(session=session, model=AuditWitness, values=dict(
        team_id=head.team_id, day=day, seq=head.seq, hash=head.hash, channel_id=channel_id, created_at=at,
    ), conflict=["team_id", "day"])


def witnessed_heads(*, session: Session, team_id: str) -> list[tuple[int, str]]:
    """The (seq, hash) of every head of a workspace witnessed so far."""
    return [(w.seq, w.hash) for w in session.exec(select(AuditWitness).where(AuditWitness.team_id == team_id))]
