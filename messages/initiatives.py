"""What Steward says about initiatives: creation, the list, the detail view, and refusals."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from bot.domain.cadence import CadenceRule, Compliance
from bot.domain.kpis import KpiStanding
from bot.domain.vocabulary import REQUIRED_ROLES, Role
from messages import channels as channel_messages
from messages import kpis as kpi_messages
from messages import reviews as review_messages
from messages.render import Message, local_time, mrkdwn_escape, render, user_mention
from states import ChannelState, OutboxStatus, Stage


class InitiativeLike(Protocol):
    id: int | None
    key: str
    name: str
    channel_id: str
    stage: Stage
    stage_entered_at: datetime
    timezone: str
    channel_state: ChannelState


class DeviationLike(Protocol):
    logged_at: datetime
    logged_by: str
    text: str


class ReviewLike(Protocol):
    number: int
    kind: str
    due_at: datetime


class UndeliveredLike(Protocol):
    purpose: str
    created_at: datetime
    last_error: str | None
    status: OutboxStatus
    attempts: int


def not_found(key: str) -> str:
    return f"There is no initiative `{key}` in this workspace. `/steward initiative list` shows them."


def only_record_keepers(key: str, what: str) -> str:
    """Refusal: records of an initiative are kept by the people holding a role on it."""
    return f"Only people holding a role on `{key}` (or Steward admins) can {what}."


def only_admins(*, is_import: bool, admins: Iterable[str]) -> str:
    """Refusal: creating or importing initiatives is for Steward admins."""
    what = "import initiatives" if is_import else "create initiatives"
    named = sorted(admins)
    who = ", ".join(user_mention(a) for a in named) if named else "nobody is configured (set STEWARD_ADMINS)"
    return f"Only Steward admins may {what}. Ask one of: {who}."


def not_in_a_channel() -> str:
    return "Create an initiative from the channel it should post in, not a direct message."


def since_in_future(since: date) -> str:
    return f"`since={since.isoformat()}` is in the future."


def unknown_country(country: str) -> str:
    return f"`{country}` is not a country the holidays calendar knows."


def key_taken(key: str) -> str:
    return f"An initiative with key `{key}` already exists; pick another key."


def created(initiative: InitiativeLike) -> Message:
    """The reply to the admin who created or imported an initiative (and what to do if Steward cannot post yet)."""
    return render("initiative_created", initiative=initiative,
                  channel_note=channel_messages.binding_note(initiative.channel_state, initiative.channel_id))


def created_notice(initiative: InitiativeLike, *, actor: str, imported: bool, before_steward: int = 0,
                   target: str = "") -> Message:
    """The notice in the initiative's channel that Steward now tracks it, with its stage's target; an import
    says how many reviews fell due before Steward (and how to attest one)."""
    return render("notice_initiative_created", initiative=initiative, actor=actor, imported=imported,
                  before_steward=before_steward, target=target)


def listing(initiatives: Sequence[InitiativeLike], holders: Mapping[int, Mapping[str, str]]) -> Message:
    """Every initiative of the workspace with its stage and its vacant required roles."""
    items = [{"key": i.key, "name": i.name, "channel_id": i.channel_id, "stage": i.stage,
              "not_in_channel": i.channel_state in channel_messages.UNUSABLE,
              "vacant": [r.label for r in REQUIRED_ROLES if r not in holders.get(i.id, {})]} for i in initiatives]
    return render("initiative_list", initiatives=items)


def _role_lines(holders: Mapping[str, str], covered: Mapping[str, str] | None = None) -> list[str]:
    lines = []
    for role in Role:
        holder = holders.get(role)
        if holder:
            cover = (covered or {}).get(role)  # D: a holder away is named "covered by …"
            lines.append(f"• {role.label}: {user_mention(holder)}" + (f", covered by {user_mention(cover)}"
                                                                      if cover else ""))
        elif role.required:
            lines.append(f"• {role.label}: *vacant* (required)")
    return lines


def _delivery_line(problem: UndeliveredLike, zone: str) -> str:
    state = "gave up" if problem.status is OutboxStatus.FAILED else "retrying"
    return (f"• {problem.purpose} queued {local_time(problem.created_at, zone)}: `{problem.last_error}` "
            f"({state}, {problem.attempts} attempts)")


def _deviation_line(deviation: DeviationLike, zone: str) -> str:
    # Deviations logged by a person name them; the API or Steward itself are named as they are.
    who = user_mention(deviation.logged_by) if deviation.logged_by.startswith(("U", "W")) else deviation.logged_by
    return f"• {local_time(deviation.logged_at, zone, '%d %b %Y')} {who}: {mrkdwn_escape(deviation.text)[:200]}"


@dataclass(frozen=True)
class ReviewStanding:
    """How the initiative keeps its cadence: the overdue open reviews and its compliance."""

    overdue: Sequence[tuple[ReviewLike, CadenceRule | None]] = ()
    compliance: Compliance | None = None


def review_section(standing: ReviewStanding, zone: str) -> str:
    lines = [f"• :rotating_light: *overdue* R{review.number} {rule.title if rule else review.kind}, "
             f"due {local_time(review.due_at, zone)}" for review, rule in standing.overdue]
    if standing.compliance is not None:
        lines.append(review_messages.compliance_line(standing.compliance))
    return "*Reviews*\n" + "\n".join(lines) if lines else ""


def detail(initiative: InitiativeLike, *, holders: Mapping[str, str], undelivered: Sequence[UndeliveredLike],
           standings: Sequence[KpiStanding], incident_lines: Sequence[str],
           deviations: Sequence[DeviationLike], held: int = 0, reviews: ReviewStanding | None = None,
           covered: Mapping[str, str] | None = None) -> Message:
    """`initiative show`: stage, roles, delivery problems, KPIs, incidents and the latest deviations.

    A channel Steward cannot use is said first ("not in channel", and how many messages it holds).
    """
    zone = initiative.timezone
    channel_note = channel_messages.state_note(initiative.channel_state, initiative.channel_id)
    if channel_note and held:
        channel_note += f" {held} message{'s are' if held != 1 else ' is'} held until then."
    sections = ["*KPIs* (latest against the threshold in force)\n"
                + "\n".join(kpi_messages.standing_line(s, zone) for s in standings),
                "\n".join(incident_lines),
                review_section(reviews, zone) if reviews else ""]
    if deviations:
        sections.append("*Deviations* (latest)\n" + "\n".join(_deviation_line(d, zone) for d in deviations))
    return render("initiative_show", initiative=initiative, role_lines=_role_lines(holders, covered),
                  channel_note=channel_note,
                  delivery_problems=[_delivery_line(p, zone) for p in undelivered],
                  extra_sections=[section for section in sections if section])
