"""The append-only audit log: each workspace's events form a hash chain that also commits to the operative rows.

An event may bind rows of the operative tables (a sign-off, a role assignment, a threshold in force, a
completed review, a resolved incident): the digest of each row's content is stored on the event and sealed
into its hash, so `verify_bindings` can recompute every digest from the tables and name a row edited,
deleted or added behind Steward's back.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, SQLModel, col, func, select

from states import IncidentStatus, ReviewStatus
from storage.inserts import insert_ignoring_duplicates
from storage.models import (
    AuditEvent,
    AuditHead,
    AuditWitness,
    BusinessValue,
    CommsTask,
    DistributionComparison,
    FallbackProcess,
    Incident,
    PilotArtifact,
    Review,
    ReviewAnswers,
    RoleAssignment,
    RoleCover,
    RolloutStep,
    SignOff,
    SignOffVoid,
    ThresholdInForce,
)

GENESIS = "0" * 64


def canonical_payload(payload: dict[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(*, team_id: str, seq: int, actor: str, action: str, target: str, payload: str,
               created_at: datetime, prev_hash: str, bindings: str | None = None) -> str:
    """Return the hash that seals one event onto the previous one (and the rows it binds, if any).

    Events without bindings hash exactly as they did before bindings existed, so older chains still verify.
    """
    parts = [team_id, str(seq), actor, action, target, payload, created_at.isoformat(timespec="microseconds"),
             prev_hash]
    if bindings:
        parts.append(bindings)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def seal(event: AuditEvent) -> str:
    """The hash `event` must carry, from its stored content."""
    return event_hash(team_id=event.team_id, seq=event.seq, actor=event.actor, action=event.action,
                      target=event.target, payload=event.payload, created_at=event.created_at,
                      prev_hash=event.prev_hash, bindings=event.bindings)


_APPENDED = "steward.audit.appended"  # session.info: team -> the event this transaction appended last


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
    session.info.setdefault(_APPENDED, {})[team_id] = event
    return event


@sa_event.listens_for(OrmSession, "after_commit")
@sa_event.listens_for(OrmSession, "after_rollback")
def _forget_appended(session: OrmSession) -> None:
    # Once committed (or undone) an event is sealed for good: nothing may bind to it any more.
    session.info.pop(_APPENDED, None)


def _ensure_head(session: Session, team_id: str) -> None:
    insert_ignoring_duplicates(session=session, model=AuditHead, values={"team_id": team_id, "seq": 0,
                                                                        "hash": GENESIS})


# --- Bindings: the operative rows an event commits to ------------------------------------------------------


@dataclass(frozen=True)
class BoundKind:
    """An operative table whose rows are bound to audit events."""

    name: str
    model: type[SQLModel]
    fields: tuple[str, ...]
    must_be_bound: Callable[[Any], bool]  # rows in this state exist only through a flow that binds them
    describe: Callable[[Any], str]


def _status(row: Any) -> str:
    return getattr(row.status, "value", row.status)


BOUND_KINDS: tuple[BoundKind, ...] = (
    BoundKind("signoff", SignOff,
              ("team_id", "initiative_id", "subject", "decision", "signer", "signer_role", "stage", "comment",
               "signed_at", "evidence", "evidence_hash"),
              lambda row: True,
              lambda row: f"sign-off {row.id} ({row.subject}: {row.decision} by {row.signer} as {row.signer_role})"),
    BoundKind("role_assignment", RoleAssignment,
              ("team_id", "initiative_id", "role", "user_id", "assigned_by", "assigned_at", "ended_at", "ended_by"),
              lambda row: True,
              lambda row: f"role assignment {row.id} ({row.role}: {row.user_id})"),
    BoundKind("threshold_in_force", ThresholdInForce,
              ("team_id", "initiative_id", "signoff_id", "kpi", "value", "in_force_from"),
              lambda row: True,
              lambda row: f"threshold in force {row.id} ({row.kpi} = {row.value:g}, sign-off {row.signoff_id})"),
    BoundKind("review", Review,
              ("team_id", "number", "initiative_id", "kind", "due_at", "status", "completed_by", "completed_at",
               "notes"),
              lambda row: _status(row) == ReviewStatus.COMPLETED.value,
              lambda row: f"review R{row.number} ({row.kind}, {_status(row)})"),
    BoundKind("incident", Incident,
              ("team_id", "number", "initiative_id", "severity", "kind", "title", "declared_by", "declared_at",
               "status", "acknowledged_by", "acknowledged_at", "resolved_by", "resolved_at", "resolution"),
              lambda row: _status(row) == IncidentStatus.RESOLVED.value or row.resolved_at is not None,
              lambda row: f"incident INC{row.number} ({_status(row)})"),
    BoundKind("role_cover", RoleCover,  # issue 15: cover for an absent holder (bot.services.cover)
              ("team_id", "initiative_id", "role", "holder_id", "cover_id", "reason", "until", "starts_at",
               "ends_at", "created_by", "ended_at", "ended_by", "end_reason"),
              lambda row: True,
              lambda row: f"cover {row.id} ({row.role}: {row.cover_id} for {row.holder_id})"),
    BoundKind("signoff_void", SignOffVoid,  # issue 14: a sign-off a broken criterion voided (bot.services.signoffs)
              ("team_id", "initiative_id", "signoff_id", "cause", "reason", "voided_by", "voided_at"),
              lambda row: True,
              lambda row: f"void {row.id} of sign-off {row.signoff_id} ({row.cause})"),
    BoundKind("pilot_artifact", PilotArtifact,  # issue 17: the pilot's artifacts (bot.services.artifacts)
              ("team_id", "initiative_id", "kind", "content", "set_by", "set_at"),
              lambda row: True,
              lambda row: f"pilot artifact {row.id} ({row.kind})"),
    BoundKind("distribution_comparison", DistributionComparison,  # issue 17 (bot.services.distribution)
              ("team_id", "initiative_id", "threshold", "pilot_rows", "production_rows", "columns", "shifted",
               "result", "created_by", "created_at"),
              lambda row: True,
              lambda row: f"distribution comparison {row.id} ({row.columns} columns)"),
    BoundKind("review_answers", ReviewAnswers,  # issue 17: a review's form answers (bot.services.reviews)
              ("team_id", "initiative_id", "review_id", "kind", "answers", "delivery", "recorded_by", "recorded_at"),
              lambda row: True,
              lambda row: f"answers {row.id} to review {row.review_id} ({row.kind})"),
    BoundKind("business_value", BusinessValue,  # issue 17: the value committed (bot.services.business_value)
              ("team_id", "initiative_id", "commitment", "recorded_by", "recorded_at"),
              lambda row: True,
              lambda row: f"business value {row.id} (initiative {row.initiative_id})"),
    # G (issue 17 points 1 and 2): rollout shares in force, the fallback process, the communication tasks done.
    BoundKind("rollout_step", RolloutStep,
              ("team_id", "initiative_id", "percent", "previous", "note", "requested_by", "requested_at",
               "signoff_id", "applied_at"),
              lambda row: row.applied_at is not None,
              lambda row: f"rollout step {row.id} ({row.percent}%)"),
    BoundKind("fallback_process", FallbackProcess,
              ("team_id", "initiative_id", "text", "recorded_by", "recorded_at"),
              lambda row: True,
              lambda row: f"fallback process {row.id}"),
    BoundKind("comms_task", CommsTask,
              ("team_id", "initiative_id", "task", "done_at", "done_by", "evidence", "slack_channel"),
              lambda row: row.done_at is not None,
              lambda row: f"communication task {row.id} ({row.task})"),
)
_KIND_OF_MODEL = {kind.model: kind for kind in BOUND_KINDS}
KIND_NAMES = {kind.name: kind for kind in BOUND_KINDS}


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float):
        return repr(value)
    return value


def row_digest(kind: BoundKind, row_id: int, values: Mapping[str, Any] | Any) -> str:
    """The digest of one operative row's content (a model instance or a mapping of its columns)."""
    get = values.get if isinstance(values, Mapping) else (lambda name: getattr(values, name))
    content = {name: _normal(get(name)) for name in kind.fields}
    return hashlib.sha256(canonical_payload({"kind": kind.name, "id": row_id, **content}).encode()).hexdigest()


def bind(*, session: Session, team_id: str, rows: Iterable[SQLModel]) -> None:
    """Bind operative rows to the event this transaction appended last for the workspace, and reseal it.

    Call it right after `append_event` (or after writing rows that belong to that event) in the same
    transaction; the event is still the head, locked by this transaction, so resealing it is safe.
    """
    event: AuditEvent | None = session.info.get(_APPENDED, {}).get(team_id)
    if event is None:
        raise RuntimeError("audit.bind() must follow append_event() in the same transaction")
    session.flush()
    head = session.get(AuditHead, team_id)
    if head is None or head.seq != event.seq:
        raise RuntimeError("audit.bind(): the event to bind to is no longer the head of its chain")
    entries = {(entry["kind"], entry["id"]): entry["digest"] for entry in json.loads(event.bindings or "[]")}
    for row in rows:
        kind = _KIND_OF_MODEL[type(row)]
        session.refresh(row)  # the content as stored, after every update of this transaction so far
        entries[(kind.name, row.id)] = row_digest(kind, row.id, row)
    event.bindings = encode_bindings(entries)
    event.hash = seal(event)
    head.hash = event.hash
    session.add(event)
    session.add(head)
    session.flush()


def encode_bindings(entries: Mapping[tuple[str, int], str]) -> str:
    return canonical_payload([{"kind": kind, "id": row_id, "digest": digest}  # type: ignore[arg-type]
                              for (kind, row_id), digest in sorted(entries.items())])


# --- Verification ----------------------------------------------------------------------------------------


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
        if seal(event) != event.hash:
            return checked, ChainBreak(event.seq, event.id, "its content was changed after it was written")
        expected_prev, expected_seq, checked = event.hash, expected_seq + 1, checked + 1
    head = session.get(AuditHead, team_id)
    if head is not None and (head.seq != checked or head.hash != expected_prev):
        return checked, ChainBreak(checked + 1, None, f"the chain ends at {checked} but its head says {head.seq}")
    return checked, None


@dataclass(frozen=True)
class BindingProblem:
    row: str  # "sign-off 12 (baseline: approve by U… as business_owner)"
    seq: int | None  # the event that bound it, if any
    reason: str


def verify_bindings(*, session: Session, team_id: str) -> tuple[int, list[BindingProblem]]:
    """Recompute every bound row's digest from the tables; return the rows that match and the problems.

    A row whose latest binding no longer matches was edited; a binding whose row is gone was deleted; a row
    in a state only a binding flow writes (any sign-off, role assignment or threshold in force, a completed
    review, a resolved incident) with no binding was added or changed behind Steward's back.
    """
    latest: dict[tuple[str, int], tuple[int, str]] = {}
    statement = (select(AuditEvent.seq, AuditEvent.bindings)
                 .where(AuditEvent.team_id == team_id, col(AuditEvent.bindings).is_not(None))
                 .order_by(AuditEvent.seq))
    for seq, bindings in session.exec(statement):
        for entry in json.loads(bindings or "[]"):
            latest[(entry["kind"], int(entry["id"]))] = (seq, entry["digest"])
    matched, problems = 0, []
    for kind in BOUND_KINDS:
        model = kind.model
        for row in session.exec(select(model).where(model.team_id == team_id).order_by(model.id)):
            bound = latest.pop((kind.name, row.id), None)
            if bound is None:
                if kind.must_be_bound(row):
                    problems.append(BindingProblem(kind.describe(row), None,
                                                   "is in no audit event: it was added or changed outside Steward"))
                continue
            seq, digest = bound
            if row_digest(kind, row.id, row) != digest:
                problems.append(BindingProblem(kind.describe(row), seq,
                                               f"differs from what event {seq} recorded: it was edited"))
            else:
                matched += 1
    for (name, row_id), (seq, _digest) in sorted(latest.items(), key=lambda item: item[1][0]):
        label = name.replace("_", " ").replace("signoff", "sign-off")
        problems.append(BindingProblem(f"{label} {row_id}", seq, f"recorded by event {seq} is gone: it was deleted"))
    return matched, problems


# --- Reading the chain -----------------------------------------------------------------------------------


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
    """The workspaces that have a chain (a head, or events whose head was lost), or bound rows."""
    teams = set(session.exec(select(AuditHead.team_id))) | set(session.exec(select(AuditEvent.team_id)))
    for kind in BOUND_KINDS:
        teams |= set(session.exec(select(kind.model.team_id).distinct()))
    return sorted(teams)


# --- Witnesses -------------------------------------------------------------------------------------------


def heads(*, session: Session) -> list[AuditHead]:
    """Every workspace's chain head that has at least one event."""
    return list(session.exec(select(AuditHead).where(AuditHead.seq > 0).order_by(AuditHead.team_id)))


def add_witness(*, session: Session, head: AuditHead, day: date, channel_id: str, at: datetime) -> int | None:
    """Record that a head is witnessed; None when this very head was witnessed already (another replica)."""
    return insert_ignoring_duplicates(session=session, model=AuditWitness, values=dict(
        team_id=head.team_id, day=day, seq=head.seq, hash=head.hash, channel_id=channel_id, created_at=at,
    ), conflict=["team_id", "seq", "hash"])


def latest_witness(*, session: Session, team_id: str) -> AuditWitness | None:
    """The witness of the furthest head of a workspace (the latest one posted when several name it)."""
    return session.exec(select(AuditWitness).where(AuditWitness.team_id == team_id)
                        .order_by(col(AuditWitness.seq).desc(), col(AuditWitness.created_at).desc())).first()


def witness_due(*, session: Session, head: AuditHead, now: datetime, urgent_actions: Iterable[str],
                every: timedelta, gap: timedelta) -> bool:
    """Whether a head should be witnessed now.

    Never a head already witnessed (or behind one: the verifier, not the witness, speaks of that); never
    sooner than `gap` after the previous witness; at once after an urgent event (a sign-off, a stage
    change); otherwise at most every `every`.
    """
    last = latest_witness(session=session, team_id=head.team_id)
    if last is None:
        return True
    if last.seq >= head.seq or now - last.created_at < gap:
        return False
    if now - last.created_at >= every:
        return True
    urgent = session.exec(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.team_id == head.team_id, AuditEvent.seq > last.seq,
        col(AuditEvent.action).in_(list(urgent_actions)))).one()
    return urgent > 0


def witnessed_heads(*, session: Session, team_id: str) -> list[tuple[int, str]]:
    """The (seq, hash) of every head of a workspace witnessed so far."""
    return [(w.seq, w.hash) for w in session.exec(select(AuditWitness).where(AuditWitness.team_id == team_id))]
