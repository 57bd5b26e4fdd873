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
    # When the stage overruns the framework's timeline, until its one notice is sent (migration 0013).
    overrun_at: datetime | None = _utc(default=None, nullable=True)


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
        Index("ix_review_status_due", "status", "due_at"),  # reviews due and overdue (metrics, /healthz)
        Index("ix_review_overdue", "status", "escalated_at", "due_at"),
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
    # Migration 0013: fell due before the initiative was imported; an admin may attest it (attested_on).
    before_steward: bool = False
    attested_on: date | None = None
    acting_for: str | None = Field(default=None, max_length=32)  # the vacant role an admin completed it for
    escalated_at: datetime | None = _utc(default=None, nullable=True)  # overdue: escalated once


class Incident(SQLModel, table=True):
    """An incident and its escalation; the ladder it climbs is frozen onto it when declared."""

    __tablename__ = "incidents"
    __table_args__ = (
        UniqueConstraint("team_id", "number", name="uq_incident_number"),
        Index("ix_incident_due", "next_escalation_at"),
        Index("ix_incident_initiative", "initiative_id", "status"),
        Index("ix_incident_status", "status", "severity"),  # incidents open by severity (metrics)
        Index("ix_incident_thread", "channel_id", "root_ts"),  # D: a thread reply finds its incident
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
    # Links of the monitor alert that opened it (source, dashboard), as shown in the root (migration 0016).
    monitor_links: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    kpi: str | None = Field(default=None, max_length=20)  # the KPI whose breach declared it
    # Issue 15 (C): the ladder's minutes count from here after a severity change (None: the declaration);
    # when the ladder ran out, and how many repeat pages followed.
    ladder_from: datetime | None = _utc(default=None, nullable=True)
    exhausted_at: datetime | None = _utc(default=None, nullable=True)
    repeats: int = 0
    # Issue 15 (D): the latest thread reply of a role holder, a status update (requests wait a full interval).
    last_update_at: datetime | None = _utc(default=None, nullable=True)
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


class SignOffVoid(SQLModel, table=True):
    """A sign-off a later change voided (a criterion it approved broke); the sign-off itself stays in history."""

    __tablename__ = "signoff_voids"
    __table_args__ = (UniqueConstraint("signoff_id", name="uq_signoff_void"),
                      Index("ix_signoff_void_initiative", "initiative_id", "voided_at"))

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    signoff_id: int = Field(foreign_key="signoffs.id")
    cause: str = Field(max_length=40)  # what broke it: readiness, role, baseline, governance
    reason: str = Field(sa_column=Column(Text, nullable=False))  # which criteria broke, as the channel was told
    voided_by: str = Field(max_length=64)  # who made the change that broke it
    voided_at: datetime = _utc()


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
    source: str = Field(default="slack", max_length=16)  # slack, api, alertmanager, prometheus
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


class RoleCover(SQLModel, table=True):
    """Someone covering a role holder's absence until a date: prompts, pages and rights go to them meanwhile."""

    __tablename__ = "role_covers"
    __table_args__ = (
        Index(
            "uq_active_cover",
            "initiative_id",
            "role",
            unique=True,
            sqlite_where=text("ended_at IS NULL"),
            postgresql_where=text("ended_at IS NULL"),
        ),
        Index("ix_cover_ends", "ended_at", "ends_at"),
        Index("ix_cover_user", "team_id", "cover_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    role: str = Field(max_length=32)
    holder_id: str = Field(max_length=32)  # the person covered; the cover lapses if they stop holding the role
    cover_id: str = Field(max_length=32)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    until: date  # the last day covered, in the initiative's time zone
    starts_at: datetime = _utc()
    ends_at: datetime = _utc()  # the start of the day after `until`, where the sweep ends it
    created_by: str = Field(max_length=32)
    ended_at: datetime | None = _utc(default=None, nullable=True)
    ended_by: str | None = Field(default=None, max_length=32)
    end_reason: str | None = Field(default=None, max_length=20)  # ended, expired, reassigned


class IncidentTimelineEntry(SQLModel, table=True):
    """One thing that happened to an incident (reply, edit, deletion, page, acknowledgement, severity, resolution)."""

    __tablename__ = "incident_timeline"
    __table_args__ = (
        UniqueConstraint("team_id", "dedup", name="uq_timeline_dedup"),
        Index("ix_timeline_incident", "incident_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    incident_id: int = Field(foreign_key="incidents.id")
    kind: str = Field(max_length=24)
    actor: str = Field(max_length=64)  # a Slack user id, or "steward"
    at: datetime = _utc()
    text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    message_ts: str | None = Field(default=None, max_length=32)  # a thread reply's ts
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON, kind-specific
    dedup: str | None = Field(default=None, max_length=200)  # so a retried event or page records once


# -- Monitors (issue 16): alerts from Alertmanager/Grafana, Prometheus KPI sources, pipeline heartbeats ------------


class IntegrationToken(SQLModel, table=True):
    """A workspace-wide bearer token for alert webhooks (`steward token create --integration`); only its hash."""

    __tablename__ = "integration_tokens"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_integration_token_hash"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    token_hash: str = Field(max_length=64)
    prefix: str = Field(max_length=16)
    created_by: str = Field(max_length=64)
    created_at: datetime = _utc()
    revoked_at: datetime | None = _utc(default=None, nullable=True)


class MonitorAlert(SQLModel, table=True):
    """One alert (by fingerprint) that opened an incident; repeats while it is open add at most a note an hour."""

    __tablename__ = "monitor_alerts"
    __table_args__ = (Index("ix_monitor_alert_fingerprint", "initiative_id", "fingerprint"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    fingerprint: str = Field(max_length=128)
    alertname: str = Field(max_length=200)
    incident_id: int = Field(foreign_key="incidents.id")
    status: str = Field(max_length=10)  # firing, resolved
    first_seen_at: datetime = _utc()
    last_seen_at: datetime = _utc()
    last_note_at: datetime | None = _utc(default=None, nullable=True)  # the last "still firing" note
    notes: int = 0  # "still firing" notes so far (each has its own outbox key)


class KpiSource(SQLModel, table=True):
    """A PromQL query that feeds one KPI of an initiative, evaluated by the sweep at its interval."""

    __tablename__ = "kpi_sources"
    __table_args__ = (UniqueConstraint("initiative_id", "kpi", name="uq_kpi_source"),
                      Index("ix_kpi_source_due", "next_run_at"))

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    kpi: str = Field(max_length=20)
    query: str = Field(sa_column=Column(Text, nullable=False))
    interval_minutes: int = 60
    created_by: str = Field(max_length=64)
    created_at: datetime = _utc()
    next_run_at: datetime = _utc()
    last_run_at: datetime | None = _utc(default=None, nullable=True)
    last_value: float | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_error_at: datetime | None = _utc(default=None, nullable=True)  # when the current error began


class PipelineHeartbeat(SQLModel, table=True):
    """A pipeline that pings `POST /api/v1/heartbeats/<token>` every so often; only the token's hash is kept."""

    __tablename__ = "pipeline_heartbeats"
    __table_args__ = (UniqueConstraint("token_hash", name="uq_heartbeat_token_hash"),
                      UniqueConstraint("initiative_id", "name", name="uq_heartbeat_name"),
                      Index("ix_heartbeat_due", "due_at"))

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    name: str = Field(max_length=40)
    token_hash: str = Field(max_length=64)
    every_seconds: int
    grace_seconds: int
    created_by: str = Field(max_length=64)
    created_at: datetime = _utc()
    last_ping_at: datetime | None = _utc(default=None, nullable=True)
    due_at: datetime = _utc()  # when the next miss is counted (expected ping + grace)
    misses: int = 0  # misses in a row since the last ping
    incident_id: int | None = Field(default=None, foreign_key="incidents.id")


class PagePreference(SQLModel, table=True):
    """How a person wants to be paged for a severity (`*`: every severity): `dm` or `thread`."""

    __tablename__ = "page_preferences"
    __table_args__ = (UniqueConstraint("team_id", "user_id", "severity", name="uq_page_preference"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    severity: str = Field(max_length=8)
    mode: str = Field(max_length=8)
    set_at: datetime = _utc()


class DirectChannel(SQLModel, table=True):
    """The app's direct message with a person (conversations.open), opened once."""

    __tablename__ = "direct_channels"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_direct_channel"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    user_id: str = Field(max_length=32)
    channel_id: str = Field(max_length=32)
    opened_at: datetime = _utc()


class IncidentPage(SQLModel, table=True):
    """One person paged for an incident, as sent: in the thread, by direct message, or as the fallback."""

    __tablename__ = "incident_pages"
    __table_args__ = (UniqueConstraint("team_id", "outbox_key", "user_id", name="uq_incident_page"),
                      Index("ix_incident_page_user", "team_id", "user_id"),
                      Index("ix_incident_page_incident", "incident_id"))

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    incident_id: int = Field(foreign_key="incidents.id")
    user_id: str = Field(max_length=32)
    via: str = Field(max_length=8)  # dm, thread
    level: int  # 0: the fallback
    outbox_key: str = Field(max_length=160)
    channel_id: str = Field(max_length=32)
    ts: str | None = Field(default=None, max_length=32)
    paged_at: datetime = _utc()


# G (issue 17 points 1 and 2): controlled rollout, the pilot-era fallback, the launch communication plan.
class RolloutStep(SQLModel, table=True):
    """A share of full volume the system serves, as asked; in force from `applied_at` (after the business
    owner's sign-off when it needs one); never deleted, a later step supersedes it."""

    __tablename__ = "rollout_steps"
    __table_args__ = (Index("ix_rollout_initiative", "initiative_id", "applied_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    percent: int
    previous: int | None = None  # the share in force when it was asked
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    requested_by: str = Field(max_length=32)
    requested_at: datetime = _utc()
    signoff_id: int | None = None  # the business owner's `rollout:<percent>` approval, when it needed one
    applied_at: datetime | None = _utc(default=None, nullable=True)  # None: waiting for the sign-off
    withdrawn_at: datetime | None = _utc(default=None, nullable=True)  # a later step replaced it while waiting


class FallbackProcess(SQLModel, table=True):
    """The pilot-era fallback process kept during the launch; the latest one recorded is the one in force."""

    __tablename__ = "fallback_processes"
    __table_args__ = (Index("ix_fallback_initiative", "initiative_id", "recorded_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    text: str = Field(sa_column=Column(Text, nullable=False))
    recorded_by: str = Field(max_length=32)
    recorded_at: datetime = _utc()


class CommsTask(SQLModel, table=True):
    """One task of the launch communication plan (orientation, training, support-channel) of an initiative."""

    __tablename__ = "comms_tasks"
    __table_args__ = (UniqueConstraint("initiative_id", "task", name="uq_comms_task"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    task: str = Field(max_length=20)
    done_at: datetime | None = _utc(default=None, nullable=True)
    done_by: str | None = Field(default=None, max_length=32)
    evidence: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    slack_channel: str | None = Field(default=None, max_length=32)  # support-channel: the channel it names
    prompted_at: datetime | None = _utc(default=None, nullable=True)  # the product manager was prompted
    closed_at: datetime | None = _utc(default=None, nullable=True)  # support-channel: closed, summary posted


class ReviewAnswers(SQLModel, table=True):
    """Issue 17 (helper I): the answers recorded when a review was completed through its form (one per review)."""

    __tablename__ = "review_answers"
    __table_args__ = (UniqueConstraint("review_id", name="uq_review_answers"),
                      Index("ix_review_answers_kind", "initiative_id", "kind", "recorded_at"))

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    review_id: int = Field(foreign_key="reviews.id")
    kind: str = Field(max_length=40)
    answers: str = Field(sa_column=Column(Text, nullable=False))  # JSON: [{question, label, text, choice?}]
    delivery: str | None = Field(default=None, max_length=12)  # the business-value answer: yes, partly, no
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = _utc()


class BusinessValue(SQLModel, table=True):
    """Issue 17 (helper I): what an initiative committed to deliver (`/steward value`); the latest is in force."""

    __tablename__ = "business_values"
    __table_args__ = (Index("ix_business_value_initiative", "initiative_id", "recorded_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    commitment: str = Field(sa_column=Column(Text, nullable=False))
    recorded_by: str = Field(max_length=64)
    recorded_at: datetime = _utc()


class DistributionComparison(SQLModel, table=True):
    """A data distribution comparison of pilot and production samples, computed by Steward (issue 17, H)."""

    __tablename__ = "distribution_comparisons"
    __table_args__ = (Index("ix_distribution_initiative", "initiative_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    threshold: float
    pilot_rows: int
    production_rows: int
    columns: int
    shifted: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of the shifted columns
    result: str = Field(sa_column=Column(Text, nullable=False))  # JSON: every column's figures and what was left out
    created_by: str = Field(max_length=64)  # the token's prefix
    created_at: datetime = _utc()


class PilotArtifact(SQLModel, table=True):
    """One of the pilot's artifacts (acceptance criteria, edge cases, failure modes), as recorded (issue 17, H)."""

    __tablename__ = "pilot_artifacts"
    __table_args__ = (Index("ix_pilot_artifact_initiative", "initiative_id", "kind", "set_at"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=32)
    initiative_id: int = Field(foreign_key="initiatives.id")
    kind: str = Field(max_length=24)
    content: str = Field(sa_column=Column(Text, nullable=False))
    set_by: str = Field(max_length=32)
    set_at: datetime = _utc()
