"""Read an organization's overrides of the cadence (STEWARD_CONFIG, YAML) into the domain's types."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.domain.cadence import DEFAULT_CADENCE, Cadence
from bot.domain.escalation import DEFAULT_MATRIX, DEFAULT_REPEAT_MINUTES, EscalationPolicy, Level, Severity
from bot.domain.kpis import KpiPolicy
from bot.domain.review_questions import Question, ReviewQuestions, questions_problem, with_overrides
from bot.domain.vocabulary import Role, role_named
from bot.errors import ConfigError


def _roles(value) -> tuple[Role, ...]:
    roles = []
    for word in value or []:
        role = role_named(str(word))
        if role is None:
            raise ValueError(f"{word!r} is not a role")
        roles.append(role)
    return tuple(roles)


class RuleOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool | None = None
    every_days: int | None = Field(default=None, ge=1, le=366)
    every_months: int | None = Field(default=None, ge=1, le=24)
    offsets_days: list[int] | None = None
    limit: int | None = Field(default=None, ge=1, le=520)
    mention: list[str] | None = None
    completed_by: list[str] | None = None

    @field_validator("mention", "completed_by")
    @classmethod
    def _known_roles(cls, value):
        if value is not None:
            _roles(value)
        return value

    @field_validator("offsets_days")
    @classmethod
    def _positive(cls, value):
        if value is not None and any(day < 1 for day in value):
            raise ValueError("offsets must be whole days of 1 or more")
        return value


class LevelConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_minutes: int = Field(ge=0, le=7 * 24 * 60)
    roles: list[str] = Field(min_length=1)

    @field_validator("roles")
    @classmethod
    def _known_roles(cls, value):
        _roles(value)
        return value


class MatrixConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sev1: list[LevelConfig] | None = None
    sev2: list[LevelConfig] | None = None
    sev3: list[LevelConfig] | None = None
    sev4: list[LevelConfig] | None = None

    @field_validator("sev1", "sev2", "sev3", "sev4")
    @classmethod
    def _ladder(cls, value):
        if value is not None:
            if not value:
                raise ValueError("a ladder needs at least one level")
            times = [level.after_minutes for level in value]
            if times[0] != 0 or times != sorted(times):
                raise ValueError("level 1 pages at once (after_minutes: 0) and later levels come later")
        return value

    def to_matrix(self) -> dict[Severity, tuple[Level, ...]]:
        matrix = {}
        for severity in Severity:
            ladder = getattr(self, severity.value)
            if ladder is not None:
                matrix[severity] = tuple(Level(n, item.after_minutes, _roles(item.roles))
                                         for n, item in enumerate(ladder, start=1))
        return matrix


class EscalationConfig(MatrixConfig):
    initiatives: dict[str, MatrixConfig] = Field(default_factory=dict)
    # Who is paged when the ladder runs out or its remaining levels are vacant (channel or user ids; default
    # the admins), and how often an unacknowledged, exhausted ladder is paged again (minutes; null: never).
    fallback: list[str] = Field(default_factory=list, max_length=20)
    repeat_minutes: dict[Severity, int | None] = Field(default_factory=dict)

    @field_validator("fallback")
    @classmethod
    def _slack_ids(cls, value):
        for item in value:
            if not re.fullmatch(r"[CGUW][A-Z0-9]{2,20}", str(item)):
                raise ValueError(f"{item!r} is not a Slack channel id (C…, G…) or user id (U…, W…)")
        return value

    @field_validator("repeat_minutes")
    @classmethod
    def _repeat(cls, value):
        for severity, minutes in value.items():
            if minutes is not None and not 5 <= minutes <= 7 * 24 * 60:
                raise ValueError(f"{severity.value}: repeat every 5 to 10080 minutes, or null for never")
        return value


class KpiConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    breach_severity: Severity = Severity.SEV3
    silence_days: int = Field(default=7, ge=1, le=90)
    freshness_days: int = Field(default=14, ge=1, le=365)
    scope_pairing_days: int = Field(default=14, ge=1, le=90)  # both scope-expansion approvals within this


class AlertsConfig(BaseModel):
    """`alerts:` how Alertmanager and Grafana alerts become incidents (issue 16; bot.domain.alerts)."""

    model_config = ConfigDict(extra="forbid")

    severities: dict[str, Severity] = Field(default_factory=dict)  # label `severity` value -> sev1..sev4
    default_severity: Severity = Severity.SEV3
    resolve_unacknowledged: bool = True
    still_firing_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class PrometheusSourceConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str = Field(min_length=1, max_length=2000)
    every_minutes: int = Field(default=60, ge=1, le=7 * 24 * 60)


class PrometheusConfig(BaseModel):
    """`prometheus: {sources: {<key>: {<kpi>: {query: ..., every_minutes: 60}}}}` (issue 16)."""

    model_config = ConfigDict(extra="forbid")

    sources: dict[str, dict[str, PrometheusSourceConfig]] = Field(default_factory=dict)


class PagerDutyTarget(BaseModel):
    """One initiative's PagerDuty service: its Events API v2 integration (routing) key (issue 15, D)."""

    model_config = ConfigDict(extra="forbid")

    routing_key: str = Field(pattern=r"^[A-Za-z0-9]{32}$")
    from_level: int = Field(default=1, ge=1, le=10)  # trigger when the ladder reaches this level (1: on declaring)


class PagerDutyConfig(BaseModel):
    """`pagerduty: {initiatives: {<key>: {routing_key: ...}}}`: incidents triggered, acknowledged, resolved there."""

    model_config = ConfigDict(extra="forbid")

    initiatives: dict[str, PagerDutyTarget] = Field(default_factory=dict)


class WebhookTarget(BaseModel):
    """A generic paging target (Opsgenie, GoAlert, ...): JSON POSTs signed with HMAC-SHA256 of `secret`."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://[^\s]+$", max_length=500)
    secret: str = Field(min_length=16, max_length=200)


class WebhooksConfig(BaseModel):
    """`webhooks: {initiatives: {<key>: {url: ..., secret: ...}}}`."""

    model_config = ConfigDict(extra="forbid")

    initiatives: dict[str, WebhookTarget] = Field(default_factory=dict)


class DistributionConfig(BaseModel):
    """`distribution: {psi_threshold: 0.2}`: a column whose PSI is above this has shifted (issue 17, H)."""

    model_config = ConfigDict(extra="forbid")

    psi_threshold: float = Field(default=0.2, gt=0, le=10)


class QuestionConfig(BaseModel):
    """Issue 17 (helper I): one question of a review kind's form (`review_questions: {<kind>: [...]}`)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    label: str
    choices: list[str] = Field(default_factory=list)
    required: bool = True

    @field_validator("choices", mode="before")
    @classmethod
    def _yes_no(cls, value):
        # YAML reads a bare yes/no as a boolean: they mean the words here.
        if isinstance(value, list):
            return [("yes" if item else "no") if isinstance(item, bool) else item for item in value]
        return value


def _review_questions(value: dict) -> dict:
    known = {rule.kind for rule in DEFAULT_CADENCE.rules}
    for kind, questions in value.items():
        if kind not in known:
            raise ValueError(f"{kind!r} is not a review kind (known: {', '.join(sorted(known))})")
        problem = questions_problem([Question(q.id, q.label, tuple(q.choices), q.required) for q in questions])
        if problem:
            raise ValueError(f"{kind}: {problem}")
    return value


class OrgConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kpis: KpiConfig = Field(default_factory=KpiConfig)
    escalation: EscalationConfig = Field(default_factory=EscalationConfig)
    post_at: str = "10:00"
    reminder_days: list[int] = Field(default_factory=lambda: [3, 7])
    cadence: dict[str, RuleOverride] = Field(default_factory=dict)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    prometheus: PrometheusConfig = Field(default_factory=PrometheusConfig)
    pagerduty: PagerDutyConfig = Field(default_factory=PagerDutyConfig)  # D: paging services (issue 15)
    webhooks: WebhooksConfig = Field(default_factory=WebhooksConfig)
    review_questions: dict[str, list[QuestionConfig]] = Field(default_factory=dict)  # issue 17 (helper I)
    distribution: DistributionConfig = Field(default_factory=DistributionConfig)  # H: issue 17

    @field_validator("post_at")
    @classmethod
    def _time(cls, value: str) -> str:
        time.fromisoformat(value)
        return value

    @field_validator("reminder_days")
    @classmethod
    def _reminders(cls, value: list[int]) -> list[int]:
        if value != sorted(value) or any(day < 1 for day in value) or len(value) > 5:
            raise ValueError("reminder days must be at most five increasing whole days")
        return value

    @field_validator("review_questions")
    @classmethod
    def _questions(cls, value: dict) -> dict:
        return _review_questions(value)

    @field_validator("cadence")
    @classmethod
    def _known_kinds(cls, value: dict) -> dict:
        known = {rule.kind for rule in DEFAULT_CADENCE.rules}
        for kind in value:
            if kind not in known:
                raise ValueError(f"{kind!r} is not a review kind (known: {', '.join(sorted(known))})")
        return value


@dataclass(frozen=True)
class OrgPolicy:
    cadence: Cadence
    escalation: EscalationPolicy
    kpis: KpiPolicy


def load_org_config(path: Path | None) -> OrgPolicy:
    """The cadence, escalation and KPI policies in force; a bad file raises ConfigError (one line)."""
    config = _read(path)
    default = {**DEFAULT_MATRIX, **config.escalation.to_matrix()}
    policy = EscalationPolicy(default=default, per_initiative={
        key: matrix.to_matrix() for key, matrix in config.escalation.initiatives.items()},
        fallback=tuple(config.escalation.fallback),
        repeat_minutes={**DEFAULT_REPEAT_MINUTES, **config.escalation.repeat_minutes})
    kpis = KpiPolicy(breach_severity=config.kpis.breach_severity.value, silence_days=config.kpis.silence_days,
                     freshness_days=config.kpis.freshness_days,
                     scope_pairing_days=config.kpis.scope_pairing_days)
    return OrgPolicy(cadence=_cadence(config), escalation=policy, kpis=kpis)


def load_cadence(path: Path | None) -> Cadence:
    """The default cadence with the file's overrides applied; a bad file raises ConfigError (one line)."""
    return _cadence(_read(path))


def _read(path: Path | None) -> OrgConfig:
    if path is None:
        return OrgConfig()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        config = OrgConfig.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"STEWARD_CONFIG: cannot read {path}: {str(exc).splitlines()[0]}") from None
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise ConfigError(f"STEWARD_CONFIG: {path}: {where}: {error['msg'].removeprefix('Value error, ')}") from None
    return config


def _cadence(config: OrgConfig) -> Cadence:
    if not config.cadence and config.post_at == "10:00" and config.reminder_days == [3, 7]:
        return DEFAULT_CADENCE
    rules = []
    for rule in DEFAULT_CADENCE.rules:
        override = config.cadence.get(rule.kind)
        if override is not None:
            changes = override.model_dump(exclude_none=True)
            if "mention" in changes:
                changes["mention"] = _roles(changes["mention"])
            if "completed_by" in changes:
                changes["completed_by"] = _roles(changes["completed_by"])
            if "offsets_days" in changes:
                changes["offsets_days"] = tuple(changes["offsets_days"])
            if "every_days" in changes:
                changes.setdefault("every_months", 0)
            elif "every_months" in changes:
                changes.setdefault("every_days", 0)
            rule = dataclasses.replace(rule, **changes)
        rules.append(rule)
    return Cadence(rules=tuple(rules), post_at=time.fromisoformat(config.post_at),
                   reminder_days=tuple(config.reminder_days))


def load_monitor_config(path: Path | None) -> tuple[AlertsConfig, PrometheusConfig]:
    """The `alerts:` and `prometheus:` sections (issue 16); a bad file raises ConfigError (one line)."""
    config = _read(path)
    return config.alerts, config.prometheus


def load_paging_config(path: Path | None) -> tuple[PagerDutyConfig, WebhooksConfig]:
    """The `pagerduty:` and `webhooks:` sections (issue 15 point 6); a bad file raises ConfigError (one line)."""
    config = _read(path)
    return config.pagerduty, config.webhooks


def load_distribution_config(path: Path | None) -> DistributionConfig:
    """The `distribution:` section (issue 17); a bad file raises ConfigError (one line)."""
    return _read(path).distribution


def load_review_questions(path: Path | None) -> ReviewQuestions:
    """Each review kind's questions: the defaults with the `review_questions:` section's replacements (issue 17)."""
    config = _read(path)
    return with_overrides({kind: [Question(q.id, q.label, tuple(q.choices), q.required) for q in questions]
                           for kind, questions in config.review_questions.items()})
