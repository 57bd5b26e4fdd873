"""The tables of Steward, one class per concept; every row carries its workspace (Slack team id)."""

from datetime import date, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from states import ChannelState, IncidentStatus, OutboxStatus, ReviewStatus, Stage
from storage.types import EnumText, UTCDateTime


def _utc(**kwargs):
    return Field(sa_type=UTCDateTime, **kwargs)


class Initiative(SQLModel, table=True):
    __tablename__ = "initiatives"
    __table_args__ = (
        UniqueConstraint("team_id", "key", name="uq_initiative_key"),
        # The sweep's query for initiatives with a review to materialize: a range scan, however many.
        Index("ix_initiative_cadence_due", "cadence_next_at"),
        Index("ix_initiative_kpi_silence", "kpi_silent_after"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    key: str = Field(max_length=40)
    name: str = Field(max_length=120)
    channel_id: str = Field(max_length=32)
    stage: Stage = Field(sa_type=EnumText(Stage, 20))
    stage_entered_at: datetime = _utc()
    launch_date: date | None = None
    timezone: str = Field(max_length=64)
    holiday_country: str | None = Field(default=None, max_length=8)
    created_by: str = Field(max_length=32)
    created_at: datetime = _utc()
    archived: bool = False
    # When the next review of the cadence falls due (None: nothing more in this stage). Lets a sweep
    # find the initiatives with work due without computing every initiative's cadence.
    cadence_next_at: datetime | None = _utc(default=None, nullable=True)
    # When a KPI will have been silent too long (launch and operations); the sweep's indexed look-up.
    kpi_silent_after: datetime | None = _utc(default=None, nullable=True)
    # Whether Steward can post, share files and read history in its channel, and since when (migration 0009).
    channel_state: ChannelState = Field(default=ChannelState.MEMBER, sa_type=EnumText(ChannelState, 20))
    channel_state_at: datetime | None = _utc(default=None, nullable=True)


class RoleAssignment(SQLModel, table=True):
    """Who held a role on an initiative, and when; unassigning ends the row, never deletes it."""

    __tablename__ = "role_assignments"
    __table_args__ = (
        Index(
            "uq_active_role",
            "initiative_id",
            "role",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_role_user", "team_id", "user_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    role: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    assigned_by: str = Field(max_length=32)
    assigned_at: datetime = _utc()
    ended_at: datetime | None = _utc(default=None, nullable=True)
    ended_by: str | None = Field(default=None, max_length=32)


class AuditHead(SQLModel, table=True):
    """The latest event of a workspace's chain; locking it serialises appends."""

    __tablename__ = "audit_heads"

    team_id: str = Field(primary_key=True, max_length=32)
    seq: int = 0
    hash: str = Field(max_length=64)


class AuditEvent(SQLModel, table=True):
    """One change of state, chained by hash to the previous event of its workspace."""

    __tablename__ = "audit_events"
    __table_args__ = (
        UniqueConstraint("team_id", "seq", name="uq_audit_seq"),
        Index("ix_audit_target", "team_id", "target"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    seq: int
    actor: str = Field(max_length=64)
    action: str = Field(max_length=64)
    target: str = Field(max_length=120)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = _utc()
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)
    # JSON list of the operative rows this event binds ({"kind", "id", "digest"}), part of its hash (storage.audit).
    bindings: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class OutboxMessage(SQLModel, table=True):
    """A message Steward owes Slack, written in the transaction that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("team_id", "key", name="uq_outbox_key"),
        # The sender's only query: what is pending and due. Sent rows drop out of this index's range.
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_initiative", "initiative_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    key: str = Field(max_length=160)
    initiative_id: int | None = Field(default=None, foreign_key="initiatives.id")
    method: str = Field(max_length=40)
    channel_id: str = Field(max_length=32)
    thread_key: str | None = Field(default=None, max_length=160)
    target_key: str | None = Field(default=None, max_length=160)
    user_id: str | None = Field(default=None, max_length=32)  # for ephemeral messages
    reply_url: str | None = Field(default=None, max_length=500)  # an action's response_url (method response_url)
    text: str = Field(sa_column=Column(Text, nullable=False))
    blocks: str = Field(sa_column=Column(Text, nullable=False))
    purpose: str = Field(max_length=40)
    subject_id: int | None = None
    status: OutboxStatus = Field(default=OutboxStatus.PENDING, sa_type=EnumText(OutboxStatus, 12))
    attempts: int = 0
    due_at: datetime = _utc()
    next_attempt_at: datetime = _utc()
    claimed_until: datetime | None = _utc(default=None, nullable=True)
    version: int = 0
    ts: str | None = Field(default=None, max_length=32)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _utc()
    sent_at: datetime | None = _utc(default=None, nullable=True)
    first_attempt_at: datetime | None = _utc(default=None, nullable=True)  # history is searched from here
    # An attempt may have reached Slack unanswered, up to this moment: look in history before posting again.
    unsure_until: datetime | None = _utc(default=None, nullable=True)
    file_id: str | None = Field(default=None, max_length=32)  # an upload made, not yet shared: reuse it


class Counter(SQLModel, table=True):
    """Per-workspace sequences for the short ids people type (R12, INC3)."""

    __tablename__ = "counters"

    team_id: str = Field(primary_key=True, max_length=32)
    name: str = Field(primary_key=True, max_length=20)
    value: int = 0


class Review(SQLModel, table=True):
    """One occurrence of a cadence rule for an initiative; unique, so materializing is idempotent."""

    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("initiative_id", "kind", "due_at", name="uq_review_occurrence"),
        UniqueConstraint("team_id", "number", name="uq_review_number"),
        Index("ix_review_reminder_due", "next_reminder_at"),
        Index("ix_review_open", "initiative_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    initiative_id: int = Field(foreign_key="initiatives.id")
    kind: str = Field(max_length=40)
    due_at: datetime = _utc()
    status: ReviewStatus = Field(default=ReviewStatus.SCHEDULED, sa_type=EnumText(ReviewStatus, 12))
    posted_at: datetime | None = _utc(default=None, nullable=True)
    channel_id: str | None = Field(default=None, max_length=32)
    message_ts: str | None = Field(default=None, max_length=32)
    completed_by: str | None = Field(default=None, max_length=32)
    completed_at: datetime | None = _utc(default=None, nullable=True)
    notes: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reminders_sent: int = 0
    # The next reminder's time while the review is open; None once it is completed or skipped.
    next_reminder_at: datetime | None = _utc(default=None, nullable=True)
    created_at: datetime = _utc()


class Incident(SQLModel, table=True):
    """An incident and its escalation; the ladder it climbs is frozen onto it when declared."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_incident_number"),
        Index("ix_incident_due", "next_escalation_at"),
        Index("ix_incident_initiative", "initiative_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    number: int
    initiative_id: int = Field(foreign_key="initiatives.id")
    severity: str = Field(max_length=8)
    kind: str = Field(default="performance", max_length=20)
    title: str = Field(max_length=200)
    declared_by: str = Field(max_length=32)
    declared_at: datetime = _utc()
    channel_id: str = Field(max_length=32)
    root_ts: str | None = Field(default=None, max_length=32)
    status: IncidentStatus = Field(default=IncidentStatus.OPEN, sa_type=EnumText(IncidentStatus, 16))
    levels: str = Field(sa_column=Column(Text, nullable=False))  # JSON: the frozen escalation ladder
    level_reached: int = 0
    status_requests: int = 0
    # When the rules next have something to do (a level, a status request); None when nothing is left.
    next_escalation_at: datetime | None = _utc(default=None, nullable=True)
    acknowledged_by: str | None = Field(default=None, max_length=32)
    acknowledged_at: datetime | None = _utc(default=None, nullable=True)
    resolved_by: str | None = Field(default=None, max_length=32)
    resolved_at: datetime | None = _utc(default=None, nullable=True)
    resolution: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    kpi: str | None = Field(default=None, max_length=20)  # the KPI whose breach declared it
    version: int = 0


class Deviation(SQLModel, table=True):
    """A departure from expected behaviour, however minor, logged with who and when."""

    __tablename__ = "deviations"
    __table_args__ = (Index("ix_deviation_initiative", "initiative_id", "logged_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    logged_by: str = Field(max_length=32)
    logged_at: datetime = _utc()
    incident_id: int | None = Field(default=None, foreign_key="incidents.id")


class SignOff(SQLModel, table=True):
    """A named person's decision on a subject; append-only, the latest on a subject supersedes earlier ones."""

    __tablename__ = "signoffs"
    __table_args__ = (
        Index("ix_signoff_subject", "initiative_id", "subject", "signed_at"),
        UniqueConstraint("team_id", "request_key", name="uq_signoff_request"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    subject: str = Field(max_length=60)
    decision: str = Field(max_length=10)
    signer: str = Field(max_length=32)
    signer_role: str = Field(max_length=32)
    stage: Stage = Field(sa_type=EnumText(Stage, 20))  # the stage the initiative was in when signed
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    signed_at: datetime = _utc()
    evidence: str = Field(sa_column=Column(Text, nullable=False))  # JSON: what the signer saw
    evidence_hash: str = Field(max_length=64)
    request_key: str | None = Field(default=None, max_length=120)  # the Slack request, so a retry records once


class ReadinessAssessment(SQLModel, table=True):
    __tablename__ = "readiness_assessments"
    __table_args__ = (Index("ix_readiness_initiative", "initiative_id", "dimension", "set_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    dimension: str = Field(max_length=20)
    ready: bool
    evidence: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    set_by: str = Field(max_length=32)
    set_at: datetime = _utc()


class GovernanceItem(SQLModel, table=True):
    __tablename__ = "governance_items"
    __table_args__ = (Index("ix_governance_initiative", "initiative_id", "item", "set_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    item: str = Field(max_length=20)
    value: str = Field(sa_column=Column(Text, nullable=False))
    set_by: str = Field(max_length=32)
    set_at: datetime = _utc()


class KpiThreshold(SQLModel, table=True):
    """A proposed threshold; the ones in force are those the latest approved baseline sign-off saw."""

    __tablename__ = "kpi_thresholds"
    __table_args__ = (Index("ix_threshold_initiative", "initiative_id", "kpi", "set_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    kpi: str = Field(max_length=20)
    value: float
    set_by: str = Field(max_length=32)
    set_at: datetime = _utc()


class ThresholdInForce(SQLModel, table=True):
    """A threshold put in force by an approved baseline sign-off; the latest approval's set is the one in force."""

    __tablename__ = "thresholds_in_force"
    __table_args__ = (
        UniqueConstraint("signoff_id", "kpi", name="uq_threshold_in_force"),
        Index("ix_threshold_in_force_initiative", "initiative_id", "signoff_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    signoff_id: int = Field(foreign_key="signoffs.id")
    kpi: str = Field(max_length=20)
    value: float
    in_force_from: datetime = _utc()


class KpiMeasurement(SQLModel, table=True):
    __tablename__ = "kpi_measurements"
    __table_args__ = (Index("ix_measurement_initiative", "initiative_id", "kpi", "measured_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    kpi: str = Field(max_length=20)
    value: float
    measured_at: datetime = _utc()
    recorded_by: str = Field(max_length=64)
    source: str = Field(default="slack", max_length=10)
    created_at: datetime = _utc()


class AuditWitness(SQLModel, table=True):
    """A chain head posted to the audit channel, so a rewritten chain no longer matches what Slack holds."""

    __tablename__ = "audit_witnesses"
    __table_args__ = (UniqueConstraint("team_id", "seq", "hash", name="uq_witness_head"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    day: date
    seq: int
    hash: str = Field(max_length=64)
    channel_id: str = Field(max_length=32)
    created_at: datetime = _utc()


class ApiToken(SQLModel, table=True):
    """A bearer token a monitoring pipeline uses to push one initiative's KPIs; only its hash is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_token_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    token_hash: str = Field(max_length=64)
    prefix: str = Field(max_length=16)  # shown to people to tell tokens apart
    created_by: str = Field(max_length=64)
    created_at: datetime = _utc()
    revoked_at: datetime | None = _utc(default=None, nullable=True)


class SweepStep(SQLModel, table=True):
    """What the latest sweep found wrong in one of its steps, so every replica's /healthz can show it."""

    __tablename__ = "sweep_steps"

    name: str = Field(primary_key=True, max_length=32)  # "escalations", "reminders", ...
    ran_at: datetime = _utc()
    failed: int = 0  # rows (or the whole step) that failed in that run
    failures: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of {"row", "error"}, the first few


class RequestReplay(SQLModel, table=True):
    """A Slack request already handled (trigger_id, action_ts+user, view id+hash, event_id), kept for its window."""

    __tablename__ = "request_replays"
    __table_args__ = (Index("ix_request_replay_expires", "expires_at"),)

    team_id: str = Field(primary_key=True, max_length=32)
    key: str = Field(primary_key=True, max_length=200)  # "command:<trigger_id>", "event:<event_id>", ...
    seen_at: datetime = _utc()
    expires_at: datetime = _utc()
    done_at: datetime | None = _utc(default=None, nullable=True)
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # a command's reply (JSON)


class Heartbeat(SQLModel, table=True):
    """A row /healthz rewrites every few seconds: proof that the database still takes writes."""

    __tablename__ = "heartbeats"

    name: str = Field(primary_key=True, max_length=64)  # one row per replica
    beat_at: datetime = _utc()
