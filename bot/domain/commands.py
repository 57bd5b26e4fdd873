"""Parse the text after `/steward` into a typed command, or a UsageError showing the right form."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.domain.escalation import IncidentKind, Severity
from bot.domain.gates import DIMENSIONS, SETTABLE_GOVERNANCE_ITEMS
from bot.domain.kpis import KPIS, kpi_named
from bot.domain.signoff import SUBJECT_FORMS, Decision, Subject, parse_subject
from bot.domain.vocabulary import ROLE_ALIASES, Role, Stage, role_named
from bot.errors import UsageError

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
COUNTRY_PATTERN = re.compile(r"^[A-Z]{2}$")
MAX_NAME = 80
_TOKENS = re.compile(r"<[^>]*>|\S+")

MAX_EVIDENCE = 1000
MAX_COMMENT = 1000
MAX_TITLE = 150
MAX_RESOLUTION = 2000
INCIDENT_ID = re.compile(r"^(?:INC)?(\d{1,9})$", re.IGNORECASE)
MAX_NOTES = 1000
REVIEW_ID = re.compile(r"^[Rr]?(\d{1,9})$")


@dataclass(frozen=True)
class Help:
    pass


@dataclass(frozen=True)
class InitiativeCreate:
    key: str
    name: str
    stage: Stage = Stage.READINESS
    since: date | None = None
    timezone: str | None = None
    country: str | None = None

    @property
    def is_import(self) -> bool:
        return self.stage is not Stage.READINESS or self.since is not None


@dataclass(frozen=True)
class InitiativeList:
    pass


@dataclass(frozen=True)
class InitiativeShow:
    key: str


@dataclass(frozen=True)
class RoleAssign:
    key: str
    role: Role
    user_id: str


@dataclass(frozen=True)
class RoleUnassign:
    key: str
    role: Role


@dataclass(frozen=True)
class ReviewList:
    key: str | None = None


@dataclass(frozen=True)
class ReviewDone:
    number: int
    notes: str | None = None


@dataclass(frozen=True)
class ReviewAttest:
    key: str
    kind: str
    day: date
    evidence: str


@dataclass(frozen=True)
class IncidentDeclare:
    key: str
    severity: Severity
    title: str
    kind: IncidentKind = IncidentKind.PERFORMANCE


@dataclass(frozen=True)
class IncidentAck:
    number: int


@dataclass(frozen=True)
class IncidentResolve:
    number: int
    resolution: str


@dataclass(frozen=True)
class InitiativeAdvance:
    key: str


@dataclass(frozen=True)
class ReadinessSet:
    key: str
    dimension: str
    ready: bool
    evidence: str | None = None


@dataclass(frozen=True)
class GovernanceSet:
    key: str
    item: str | None = None  # None: show the record
    value: str | None = None


@dataclass(frozen=True)
class SignOffCommand:
    key: str
    subject: Subject
    decision: Decision
    comment: str | None = None


@dataclass(frozen=True)
class KpiThresholdSet:
    key: str
    kpi: str
    value: float


@dataclass(frozen=True)
class KpiRecord:
    key: str
    kpi: str
    value: float


@dataclass(frozen=True)
class AuditShow:
    key: str


@dataclass(frozen=True)
class DeviationLog:
    key: str
    text: str


Command = (Help | InitiativeCreate | InitiativeList | InitiativeShow | RoleAssign | RoleUnassign | ReviewList
           | ReviewDone | ReviewAttest | IncidentDeclare | IncidentAck | IncidentResolve | InitiativeAdvance
           | ReadinessSet | GovernanceSet | SignOffCommand | KpiThresholdSet | KpiRecord | AuditShow | DeviationLog)


def tokenize(text: str) -> list[str]:
    """Split on white space, keeping Slack's escaped mentions `<@U1|name>` whole."""
    return _TOKENS.findall(text or "")


def unescape(text: str) -> str:
    """Undo Slack's escaping of &, < and > in free text."""
    return html.unescape(text) if "&" in text else text


class Form(Protocol):
    """A command as the grammar sees it: its words (`initiative create`), its usage line and its parser."""

    name: str
    usage: str

    def parse(self, tokens: list[str], usage: str, /) -> Command: ...


def match(text: str, forms: Sequence[Form]) -> tuple[Form, list[str]]:
    """Find the form the text names and the tokens after its words; empty text asks for `help`."""
    tokens = tokenize(text) or ["help"]
    by_name = {form.name: form for form in forms}
    first = tokens[0].lower()
    if first in by_name:
        return by_name[first], tokens[1:]
    if any(name.startswith(first + " ") for name in by_name):
        if len(tokens) < 2:
            raise UsageError(f"`{first}` needs a verb.", usage=usages(forms, first))
        form = by_name.get(f"{first} {tokens[1].lower()}")
        if form is None:
            raise UsageError(f"`{first} {_shown(tokens[1])}` is not a command.", usage=usages(forms, first))
        return form, tokens[2:]
    raise UsageError(f"`{_shown(tokens[0])}` is not a command. Try `/steward help`.", usage=usages(forms, None))


def parse(text: str, forms: Sequence[Form]) -> Command:
    """Return the command the text names, or raise UsageError saying what is wrong and the right form."""
    form, rest = match(text, forms)
    return form.parse(rest, form.usage)


def usages(forms: Sequence[Form], group: str | None) -> str:
    """The usage lines of a group of commands (`incident`), or of all of them."""
    return "\n".join(form.usage for form in forms
                     if group is None or form.name == group or form.name.startswith(group + " "))


def _shown(token: str) -> str:
    token = unescape(token).replace("`", "'")
    return token if len(token) <= 30 else token[:29] + "…"


def _key(token: str | None, usage: str) -> str:
    if token is None:
        raise UsageError("The initiative key is missing.", usage=usage)
    if not KEY_PATTERN.match(token):
        raise UsageError(
            f"`{_shown(token)}` is not a valid initiative key: use 2 to 40 lowercase letters, digits or "
            "dashes, starting with a letter (for example `invoice-triage`).",
            usage=usage,
        )
    return token


def _role(token: str | None, usage: str) -> Role:
    if token is None:
        raise UsageError("The role is missing.", usage=usage)
    role = role_named(token)
    if role is None:
        names = ", ".join(f"`{alias}`" for alias in ROLE_ALIASES)
        raise UsageError(f"`{_shown(token)}` is not a role. Roles: {names}.", usage=usage)
    return role


def _no_more(tokens: list[str], usage: str) -> None:
    if tokens:
        raise UsageError(f"Unexpected `{_shown(tokens[0])}` at the end.", usage=usage)


def parse_create(tokens: list[str], usage: str) -> InitiativeCreate:
    key = _key(tokens[0] if tokens else None, usage)
    options: dict[str, str] = {}
    words: list[str] = []
    for token in tokens[1:]:
        name, sep, value = token.partition("=")
        if sep and name.lower() in ("stage", "since", "tz", "country"):
            if name.lower() in options:
                raise UsageError(f"`{name.lower()}=` is given twice.", usage=usage)
            options[name.lower()] = value
        else:
            words.append(token)
    name = unescape(" ".join(words)).strip()
    if not name:
        raise UsageError("The initiative name is missing.", usage=usage)
    if len(name) > MAX_NAME:
        raise UsageError(f"The name is {len(name)} characters long; at most {MAX_NAME} are allowed.", usage=usage)
    if "<" in name or ">" in name:
        raise UsageError("The name cannot contain mentions, links or the characters < and >.", usage=usage)
    stage = Stage.READINESS
    if "stage" in options:
        try:
            stage = Stage(options["stage"].lower())
        except ValueError:
            stages = ", ".join(f"`{s}`" for s in Stage if s is not Stage.RETIRED)
            raise UsageError(f"`{_shown(options['stage'])}` is not a stage. Stages: {stages}.", usage=usage) from None
        if stage is Stage.RETIRED:
            raise UsageError("An initiative cannot be created retired.", usage=usage)
    since = None
    if "since" in options:
        try:
            since = date.fromisoformat(options["since"])
        except ValueError:
            raise UsageError(f"`{_shown(options['since'])}` is not a date; write YYYY-MM-DD.", usage=usage) from None
    timezone = None
    if "tz" in options:
        timezone = options["tz"]
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            raise UsageError(
                f"`{_shown(timezone)}` is not a time zone; use an IANA name such as `Europe/Berlin`.", usage=usage
            ) from None
    country = None
    if "country" in options:
        country = options["country"].upper()
        if not COUNTRY_PATTERN.match(country):
            raise UsageError(
                f"`{_shown(options['country'])}` is not a country code; use two letters such as `DE`.", usage=usage
            )
    return InitiativeCreate(key=key, name=name, stage=stage, since=since, timezone=timezone, country=country)


def parse_help(tokens: list[str], usage: str) -> Help:
    return Help()  # `help anything` still helps


def parse_list(tokens: list[str], usage: str) -> InitiativeList:
    _no_more(tokens, usage)
    return InitiativeList()


def parse_show(tokens: list[str], usage: str) -> InitiativeShow:
    key = _key(tokens[0] if tokens else None, usage)
    _no_more(tokens[1:], usage)
    return InitiativeShow(key=key)


def parse_assign(tokens: list[str], usage: str) -> RoleAssign:
    key = _key(tokens[0] if tokens else None, usage)
    role = _role(tokens[1] if len(tokens) > 1 else None, usage)
    if len(tokens) < 3:
        raise UsageError("The person is missing: mention them, as in `@dana`.", usage=usage)
    match = USER_MENTION.match(tokens[2])
    if not match:
        raise UsageError(f"`{_shown(tokens[2])}` is not a person: mention them, as in `@dana`.", usage=usage)
    _no_more(tokens[3:], usage)
    return RoleAssign(key=key, role=role, user_id=match.group(1))


def parse_unassign(tokens: list[str], usage: str) -> RoleUnassign:
    key = _key(tokens[0] if tokens else None, usage)
    role = _role(tokens[1] if len(tokens) > 1 else None, usage)
    _no_more(tokens[2:], usage)
    return RoleUnassign(key=key, role=role)


_LINK = re.compile(r"^<((?:https?|mailto):[^|>]+)(?:\|[^>]*)?>$")


def _delink(token: str) -> str:
    """Slack wraps links as <https://x|label>; keep the address."""
    match = _LINK.match(token)
    return match.group(1) if match else token


def _joined(tokens: list[str]) -> str:
    """The words a person typed, as they typed them (links and Slack's escaping undone)."""
    return unescape(" ".join(_delink(token) for token in tokens))


def _free_text(tokens: list[str], usage: str, *, what: str, limit: int) -> str | None:
    return checked_text(_joined(tokens), usage, what=what, limit=limit)


def checked_text(text: str | None, usage: str | None, *, what: str, limit: int) -> str | None:
    """Return free text stripped, None when blank; refuse it when longer than `limit`."""
    text = (text or "").strip()
    if len(text) > limit:
        raise UsageError(f"That {what} is {len(text)} characters long; at most {limit} are allowed.",
                         usage=usage)
    return text or None


def resolution_text(text: str | None, usage: str | None = None) -> str:
    """Check a resolution, typed after the command or into the resolve form."""
    resolution = checked_text(text, usage, what="resolution", limit=MAX_RESOLUTION)
    if not resolution:
        raise UsageError("A resolution is needed: say what was wrong and what fixed it.", usage=usage)
    return resolution


def comment_text(text: str | None, usage: str | None = None) -> str | None:
    """Check a sign-off comment, typed after the command or into the sign-off form."""
    return checked_text(text, usage, what="comment", limit=MAX_COMMENT)


def decision_named(token: str | None, usage: str | None = None) -> Decision:
    """Read approve or reject, typed after the command or chosen in the sign-off form."""
    if token is None or token.lower() not in ("approve", "reject"):
        shown = f"`{_shown(token)}` is not a decision" if token else "The decision is missing"
        raise UsageError(f"{shown}: say `approve` or `reject`.", usage=usage)
    return Decision(token.lower())


def review_number(token: str | None, usage: str) -> int:
    """Read a review id as people see it (R12); bare numbers are accepted too."""
    if token is None:
        raise UsageError("The review id is missing.", usage=usage)
    match = REVIEW_ID.match(token)
    if not match:
        raise UsageError(f"`{_shown(token)}` is not a review id; they look like `R12`.", usage=usage)
    return int(match.group(1))


def parse_review_list(tokens: list[str], usage: str) -> ReviewList:
    if not tokens:
        return ReviewList()
    key = _key(tokens[0], usage)
    _no_more(tokens[1:], usage)
    return ReviewList(key=key)


def parse_review_done(tokens: list[str], usage: str) -> ReviewDone:
    number = review_number(tokens[0] if tokens else None, usage)
    return ReviewDone(number=number, notes=_free_text(tokens[1:], usage, what="note", limit=MAX_NOTES))


def parse_review_attest(tokens: list[str], usage: str) -> ReviewAttest:
    """`review attest <key> <kind> <YYYY-MM-DD> <evidence...>`: the flow checks the kind against the cadence."""
    key = _key(tokens[0] if tokens else None, usage)
    if len(tokens) < 2:
        raise UsageError("The review kind is missing (e.g. `launch-review`).", usage=usage)
    kind = tokens[1].lower()
    if not re.fullmatch(r"[a-z0-9-]{1,40}", kind):
        raise UsageError(f"`{_shown(tokens[1])}` is not a review kind (e.g. `launch-review`).", usage=usage)
    if len(tokens) < 3:
        raise UsageError("The date the review was held is missing; write YYYY-MM-DD.", usage=usage)
    try:
        day = date.fromisoformat(tokens[2])
    except ValueError:
        raise UsageError(f"`{_shown(tokens[2])}` is not a date; write YYYY-MM-DD.", usage=usage) from None
    evidence = _free_text(tokens[3:], usage, what="evidence", limit=MAX_EVIDENCE)
    if not evidence:
        raise UsageError("Evidence is needed: say where the review's record is (minutes, a link).", usage=usage)
    return ReviewAttest(key=key, kind=kind, day=day, evidence=evidence)


def incident_number(token: str | None, usage: str) -> int:
    """Read an incident id as people see it (INC3); bare numbers are accepted too."""
    if token is None:
        raise UsageError("The incident id is missing.", usage=usage)
    match = INCIDENT_ID.match(token)
    if not match:
        raise UsageError(f"`{_shown(token)}` is not an incident id; they look like `INC3`.", usage=usage)
    return int(match.group(1))


def parse_declare(tokens: list[str], usage: str) -> IncidentDeclare:
    key = _key(tokens[0] if tokens else None, usage)
    if len(tokens) < 2:
        raise UsageError("The severity is missing.", usage=usage)
    try:
        severity = Severity(tokens[1].lower())
    except ValueError:
        raise UsageError(f"`{_shown(tokens[1])}` is not a severity: use sev1 (worst) to sev4.", usage=usage) from None
    kind = IncidentKind.PERFORMANCE
    words = []
    for token in tokens[2:]:
        name, sep, value = token.partition("=")
        if sep and name.lower() == "kind":
            try:
                kind = IncidentKind(value.lower())
            except ValueError:
                raise UsageError(f"`{_shown(value)}` is not an incident kind: use `performance` or "
                                 "`infrastructure`.", usage=usage) from None
        else:
            words.append(token)
    title = _free_text(words, usage, what="title", limit=MAX_TITLE)
    if not title:
        raise UsageError("The title is missing: say in a few words what is wrong.", usage=usage)
    return IncidentDeclare(key=key, severity=severity, title=title, kind=kind)


def parse_ack(tokens: list[str], usage: str) -> IncidentAck:
    number = incident_number(tokens[0] if tokens else None, usage)
    _no_more(tokens[1:], usage)
    return IncidentAck(number)


def parse_resolve(tokens: list[str], usage: str) -> IncidentResolve:
    number = incident_number(tokens[0] if tokens else None, usage)
    return IncidentResolve(number, resolution_text(_joined(tokens[1:]), usage))


def parse_advance(tokens: list[str], usage: str) -> InitiativeAdvance:
    key = _key(tokens[0] if tokens else None, usage)
    _no_more(tokens[1:], usage)
    return InitiativeAdvance(key)


def parse_readiness(tokens: list[str], usage: str) -> ReadinessSet:
    key = _key(tokens[0] if tokens else None, usage)
    if len(tokens) < 2:
        raise UsageError("The dimension is missing.", usage=usage)
    dimension = tokens[1].lower()
    if dimension not in DIMENSIONS:
        raise UsageError(f"`{_shown(tokens[1])}` is not a readiness dimension. Dimensions: "
                         + ", ".join(f"`{d}`" for d in DIMENSIONS) + ".", usage=usage)
    if len(tokens) < 3 or tokens[2].lower() not in ("ready", "not-ready"):
        shown = f"`{_shown(tokens[2])}` is not" if len(tokens) > 2 else "Missing"
        raise UsageError(f"{shown} the assessment: say `ready` or `not-ready`.", usage=usage)
    evidence = _free_text(tokens[3:], usage, what="evidence", limit=MAX_EVIDENCE)
    return ReadinessSet(key, dimension, tokens[2].lower() == "ready", evidence)


def parse_governance(tokens: list[str], usage: str) -> GovernanceSet:
    key = _key(tokens[0] if tokens else None, usage)
    if len(tokens) == 1:
        return GovernanceSet(key)
    item = tokens[1].lower()
    if item not in SETTABLE_GOVERNANCE_ITEMS:
        raise UsageError(f"`{_shown(tokens[1])}` cannot be set: set `use-case`, `compliance` or `audit-spec` (the "
                         "owner, thresholds and escalation items come from the roles, the signed baseline and the "
                         "matrix).", usage=usage)
    value = _free_text(tokens[2:], usage, what="text", limit=MAX_EVIDENCE)
    if not value:
        raise UsageError(f"The `{item}` item needs a link or a short text.", usage=usage)
    return GovernanceSet(key, item, value)


def parse_signoff(tokens: list[str], usage: str) -> SignOffCommand:
    key = _key(tokens[0] if tokens else None, usage)
    if len(tokens) < 2:
        raise UsageError("The subject is missing.", usage=usage)
    subject = parse_subject(tokens[1])
    if subject is None:
        raise UsageError(f"`{_shown(tokens[1])}` is not a sign-off subject. Subjects: "
                         + ", ".join(f"`{form}`" for form in SUBJECT_FORMS) + ".", usage=usage)
    decision = decision_named(tokens[2] if len(tokens) > 2 else None, usage)
    comment = comment_text(_joined(tokens[3:]), usage)
    return SignOffCommand(key, subject, decision, comment)


def _kpi_and_value(tokens: list[str], usage: str) -> tuple[str, float]:
    if len(tokens) < 2:
        raise UsageError("The KPI is missing.", usage=usage)
    kpi = kpi_named(tokens[1])
    if kpi is None:
        raise UsageError(f"`{_shown(tokens[1])}` is not a KPI. KPIs: " + ", ".join(f"`{k}`" for k in KPIS) + ".",
                         usage=usage)
    if len(tokens) < 3:
        raise UsageError("The value is missing.", usage=usage)
    _no_more(tokens[3:], usage)
    text = tokens[2].removesuffix("%").removesuffix("s") if kpi.unit in ("%", "s") else tokens[2]
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"`{_shown(tokens[2])}` is not a number.", usage=usage) from None
    problem = kpi.check(value)
    if problem:
        raise UsageError(f"The {kpi.label} {problem}; `{_shown(tokens[2])}` is out of range.", usage=usage)
    return kpi.name, value


def parse_threshold(tokens: list[str], usage: str) -> KpiThresholdSet:
    key = _key(tokens[0] if tokens else None, usage)
    return KpiThresholdSet(key, *_kpi_and_value(tokens, usage))


def parse_record(tokens: list[str], usage: str) -> KpiRecord:
    key = _key(tokens[0] if tokens else None, usage)
    return KpiRecord(key, *_kpi_and_value(tokens, usage))


def parse_audit(tokens: list[str], usage: str) -> AuditShow:
    key = _key(tokens[0] if tokens else None, usage)
    _no_more(tokens[1:], usage)
    return AuditShow(key)


def parse_deviation(tokens: list[str], usage: str) -> DeviationLog:
    key = _key(tokens[0] if tokens else None, usage)
    text = _free_text(tokens[1:], usage, what="text", limit=MAX_EVIDENCE)
    if not text:
        raise UsageError("Say what departed from expected behaviour, however minor.", usage=usage)
    return DeviationLog(key, text)


# Cover for an absent role holder, and an incident's record (issue 15, points 3 and 4).
MAX_COVER_REASON = 300


@dataclass(frozen=True)
class RoleCoverStart:
    key: str
    role: Role
    user_id: str
    until: date
    reason: str | None = None


@dataclass(frozen=True)
class RoleCoverEnd:
    key: str
    role: Role


@dataclass(frozen=True)
class IncidentShow:
    number: int


def parse_cover(tokens: list[str], usage: str) -> RoleCoverStart | RoleCoverEnd:
    """`<key> <role> <@user> until=<YYYY-MM-DD> [reason...]`, or `<key> <role> end`."""
    key = _key(tokens[0] if tokens else None, usage)
    role = _role(tokens[1] if len(tokens) > 1 else None, usage)
    if len(tokens) < 3:
        raise UsageError("Say who covers (mention them, as in `@dana`) and `until=<YYYY-MM-DD>`, or `end`.",
                         usage=usage)
    if tokens[2].lower() == "end":
        _no_more(tokens[3:], usage)
        return RoleCoverEnd(key=key, role=role)
    match = USER_MENTION.match(tokens[2])
    if not match:
        raise UsageError(f"`{_shown(tokens[2])}` is not a person: mention them, as in `@dana`.", usage=usage)
    until, words = None, []
    for token in tokens[3:]:
        name, sep, value = token.partition("=")
        if sep and name.lower() == "until":
            if until is not None:
                raise UsageError("`until=` is given twice.", usage=usage)
            try:
                until = date.fromisoformat(value)
            except ValueError:
                raise UsageError(f"`{_shown(value)}` is not a date; write YYYY-MM-DD.", usage=usage) from None
        else:
            words.append(token)
    if until is None:
        raise UsageError("Say until when: `until=<YYYY-MM-DD>`, the last day covered.", usage=usage)
    reason = _free_text(words, usage, what="reason", limit=MAX_COVER_REASON)
    return RoleCoverStart(key=key, role=role, user_id=match.group(1), until=until, reason=reason)


def parse_incident_show(tokens: list[str], usage: str) -> IncidentShow:
    number = incident_number(tokens[0] if tokens else None, usage)
    _no_more(tokens[1:], usage)
    return IncidentShow(number)


# -- Monitors (issue 16): Prometheus KPI sources and pipeline heartbeats ------------------------------------------


@dataclass(frozen=True)
class KpiSourceSet:
    key: str
    kpi: str
    query: str | None  # None: remove the source


@dataclass(frozen=True)
class HeartbeatCreate:
    key: str
    name: str
    every_seconds: int
    grace_seconds: int


@dataclass(frozen=True)
class HeartbeatList:
    key: str


@dataclass(frozen=True)
class HeartbeatDelete:
    key: str
    name: str


def parse_kpi_source(tokens: list[str], usage: str) -> KpiSourceSet:
    from bot.domain.alerts import MAX_QUERY

    key = _key(tokens[0] if tokens else None, usage)
    if len(tokens) < 2:
        raise UsageError("The KPI is missing.", usage=usage)
    kpi = kpi_named(tokens[1])
    if kpi is None:
        raise UsageError(f"`{_shown(tokens[1])}` is not a KPI. KPIs: " + ", ".join(f"`{k}`" for k in KPIS) + ".",
                         usage=usage)
    kind = tokens[2].lower() if len(tokens) > 2 else None
    if kind == "none":
        _no_more(tokens[3:], usage)
        return KpiSourceSet(key, kpi.name, None)
    if kind != "prometheus":
        raise UsageError("Say `prometheus <PromQL query>` or `none`.", usage=usage)
    query = checked_text(_joined(tokens[3:]), usage, what="query", limit=MAX_QUERY)
    if not query:
        raise UsageError("The PromQL query is missing.", usage=usage)
    return KpiSourceSet(key, kpi.name, query)


def _heartbeat_name(token: str | None, usage: str) -> str:
    from bot.domain.alerts import HEARTBEAT_NAME

    if token is None:
        raise UsageError("The heartbeat's name is missing.", usage=usage)
    if not HEARTBEAT_NAME.match(token):
        raise UsageError(f"`{_shown(token)}` is not a heartbeat name: use up to 40 lowercase letters, digits, "
                         "dots, dashes or underscores (for example `nightly-etl`).", usage=usage)
    return token


def parse_heartbeat_create(tokens: list[str], usage: str) -> HeartbeatCreate:
    from bot.domain.alerts import MAX_EVERY, MIN_EVERY, default_grace, parse_duration

    key = _key(tokens[0] if tokens else None, usage)
    name = _heartbeat_name(tokens[1] if len(tokens) > 1 else None, usage)
    options: dict[str, str] = {}
    for token in tokens[2:]:
        option, sep, value = token.partition("=")
        if not sep or option.lower() not in ("every", "grace"):
            raise UsageError(f"Unexpected `{_shown(token)}`: say `every=<duration>` and optionally "
                             "`grace=<duration>`.", usage=usage)
        if option.lower() in options:
            raise UsageError(f"`{option.lower()}=` is given twice.", usage=usage)
        options[option.lower()] = value
    if "every" not in options:
        raise UsageError("Say how often the pipeline pings: `every=<duration>` such as `every=1h`.", usage=usage)
    durations = {}
    for option, value in options.items():
        duration = parse_duration(value)
        if duration is None:
            raise UsageError(f"`{_shown(value)}` is not a duration: use a number and s, m, h or d "
                             "(for example `30m`, `1h`, `1d`).", usage=usage)
        durations[option] = duration
    every = durations["every"]
    if not MIN_EVERY <= every <= MAX_EVERY:
        raise UsageError("`every=` must be between 1 minute and 31 days.", usage=usage)
    grace = durations.get("grace", default_grace(every))
    if grace > every * 10 or grace.total_seconds() < 0:
        raise UsageError("`grace=` must be at most ten periods.", usage=usage)
    return HeartbeatCreate(key, name, int(every.total_seconds()), int(grace.total_seconds()))


def parse_heartbeat_list(tokens: list[str], usage: str) -> HeartbeatList:
    key = _key(tokens[0] if tokens else None, usage)
    _no_more(tokens[1:], usage)
    return HeartbeatList(key)


def parse_heartbeat_delete(tokens: list[str], usage: str) -> HeartbeatDelete:
    key = _key(tokens[0] if tokens else None, usage)
    name = _heartbeat_name(tokens[1] if len(tokens) > 1 else None, usage)
    _no_more(tokens[2:], usage)
    return HeartbeatDelete(key, name)


# Reviews that record answers, and the business value committed (issue 17, points 6 and 7).


@dataclass(frozen=True)
class ReviewShow:
    number: int


@dataclass(frozen=True)
class ValueCommit:
    key: str
    commitment: str


def parse_review_show(tokens: list[str], usage: str) -> ReviewShow:
    if len(tokens) > 1:
        raise UsageError("`review show` takes one review id, like `R12`.", usage=usage)
    return ReviewShow(review_number(tokens[0] if tokens else None, usage))


def parse_value(tokens: list[str], usage: str) -> ValueCommit:
    """`value <key> <committed value and target...>`: what the initiative commits to deliver, with a target."""
    key = _key(tokens[0] if tokens else None, usage)
    text = _free_text(tokens[1:], usage, what="commitment", limit=MAX_EVIDENCE)
    if not text or len(text) < 10:
        raise UsageError("Say the business value committed to and its target, e.g. `cut invoice handling time "
                         "by 30% within 6 months`.", usage=usage)
    return ValueCommit(key, text)
