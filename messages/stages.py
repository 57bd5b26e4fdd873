"""What Steward says about stages: the exit checklist, the move to the next stage, and refusals."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from bot.domain import gates
from bot.domain.gates import STAGE_EXIT_SIGNED, Check, next_stage, unmet
from bot.domain.kpis import KPIS
from bot.domain.vocabulary import Role
from messages import rollout as rollout_messages
from messages.render import Message, render, stage_title, user_mention
from states import Stage

SETTABLE = gates.SETTABLE_GOVERNANCE_ITEMS
ATTESTABLE_SHOWN = 3  # dates of uncompleted reviews (before Steward, missed, superseded) named in a checklist


class InitiativeLike(Protocol):
    key: str
    name: str
    stage: Stage


def _day(day: date) -> str:
    return day.strftime("%a %d %b %Y")


def _governance_way(key: str, missing: Sequence[str]) -> list[str]:
    ways = [f"`/steward governance {key} {item} <link or text>`" for item in missing if item in SETTABLE]
    if "owner" in missing:
        ways.append(f"`/steward role assign {key} {Role.BUSINESS_OWNER.value} @someone`")
    if "thresholds" in missing:
        ways.append(f"`/steward signoff {key} baseline approve` (after `/steward kpi threshold {key} <kpi> <value>`)")
    return ways


def way_forward(check: Check, *, key: str, stage: Stage) -> str:
    """The command (with the initiative's real key) or the day that meets an unmet check; empty when none."""
    name, way = check.name, check.way
    if name in gates.LAUNCH_CHECK_NAMES:  # G (issue 17): fallback, rollout share, orientation
        return rollout_messages.way_forward(check, key=key)
    if name == STAGE_EXIT_SIGNED:
        return f"`/steward signoff {key} stage-exit approve` while in {stage}"
    if name == gates.VALUE_COMMITTED:  # I (issue 17)
        return f"`/steward value {key} <committed value and target...>`"
    if name == gates.READINESS_DIMENSION:
        if way[0] == "data" and way[1:2] != (True,):  # H (issue 17): a distribution comparison is needed
            return (f"`/steward readiness {key} data ready <evidence>` with the distribution comparison as the "
                    f"evidence (a link or text), or have Steward compute one: `POST /api/v1/initiatives/{key}/"
                    "distribution` with the pilot and production CSV samples")
        return f"`/steward readiness {key} {way[0]} ready <evidence>`"
    if name == gates.ARTIFACTS_RECORDED:  # H (issue 17)
        return "; ".join(f"`/steward artifact {key} {kind} <link or text...>`" for kind in way)
    if name == gates.BASELINE_SIGNED:
        return (f"`/steward kpi threshold {key} <{'|'.join(KPIS)}> <value>` for each KPI, "
                f"then `/steward signoff {key} baseline approve`")
    if name == gates.GOVERNANCE_RECORD:
        return "; ".join(_governance_way(key, way))
    if name == gates.ROLES_ASSIGNED:
        return "; ".join(f"`/steward role assign {key} {role.value} @someone`" for role in way)
    if name == gates.PARALLEL_DAYS:
        return f"holds on {_day(way[0])}" if way and way[0] else ""
    if name == gates.REVIEWS_DONE:
        kind, number, attestable = way
        ways = [f"`/steward review done R{number}`" if number else
                "complete the next retrospective (every two weeks)" if kind == gates.RETROSPECTIVE else
                "complete the next weekly prompt"]
        if attestable:
            shown = ", ".join(day.isoformat() for day in attestable[:ATTESTABLE_SHOWN])
            more = f" and {len(attestable) - ATTESTABLE_SHOWN} more" if len(attestable) > ATTESTABLE_SHOWN else ""
            ways.append(f"an admin attests one Steward has no completion of with `/steward review attest {key} {kind} "
                        f"{attestable[0].isoformat()} <evidence...>` (due {shown}{more})")
        return "; ".join(ways)
    if name == gates.GOVERNANCE_SIGNED:
        return "; ".join([*_governance_way(key, way), f"`/steward signoff {key} governance approve`"])
    if name == gates.CHECKPOINT_90:
        record = f"`/steward kpi record {key} <kpi> <value>` for each KPI outside or missing"
        return f"due on {_day(way[0])}; then {record}" if way and way[0] else record
    return ""


def detail(check: Check, *, key: str, stage: Stage) -> str:
    """A check's detail as shown; an unmet one also names the command (or the day) that meets it."""
    way = "" if check.holds else way_forward(check, key=key, stage=stage)
    if check.name == STAGE_EXIT_SIGNED:
        return way
    return f"{check.detail} — {way}" if check.detail and way else (check.detail or way)


def checklist_entries(checks: Sequence[Check], *, key: str, stage: Stage) -> list[dict]:
    """The checklist as the audit log and a sign-off's evidence keep it: what the person saw."""
    return [{"check": c.label, "holds": c.holds, "detail": detail(c, key=key, stage=stage)} for c in checks]


def checklist(initiative: InitiativeLike, checks: Sequence[Check], *, stage: Stage,
              advanced_to: Stage | None = None) -> Message:
    """The exit criteria of `stage`, each held or missing; or, once advanced, the stage it moved to."""
    shown = [Check(c.label, c.holds, detail(c, key=initiative.key, stage=stage), c.informational) for c in checks]
    return render("stage_checklist", initiative=initiative, stage=stage, checks=shown, target=next_stage(stage),
                  advanced_to=advanced_to)


def cannot_advance(initiative: InitiativeLike, checks: Sequence[Check]) -> str:
    """Why an initiative stays in its stage, as the audit log keeps it."""
    return (f"`{initiative.key}` cannot leave {stage_title(initiative.stage)} yet; missing: "
            + ", ".join(c.label for c in unmet(list(checks))) + ".")


def target_line(stage: Stage, target: date | None) -> str:
    """What the framework's timeline expects of a stage, said when the stage begins."""
    timeline = gates.TIMELINE.get(Stage(stage))
    if timeline is None:
        return ""
    if target is None:
        return (f"Target: the framework runs full operations {timeline.weeks}, with no end date; "
                "significant scope expansion is usually considered from month 12.")
    return (f"Target: leave {stage_title(stage)} by {_day(target)} (the framework's {timeline.weeks}, "
            f"{timeline.days // 7} weeks).")


def advanced(initiative: InitiativeLike, *, previous: Stage, actor: str, cadence: Sequence[str],
             target: date | None = None) -> Message:
    """The notice in the initiative's channel that it moved to its next stage, with the stage's target."""
    return render("stage_advanced", initiative=initiative, stage=initiative.stage, previous=previous, actor=actor,
                  cadence=list(cadence), target=target_line(initiative.stage, target))


def overrun(initiative: InitiativeLike, *, target: date, owner: str | None, sponsor: str | None,
            checks: Sequence[Check], admins: Sequence[str] = ()) -> Message:
    """The one notice that a stage overran the framework's timeline: to the owner and sponsor (the admins for a
    vacant one), with what is missing."""
    stage = Stage(initiative.stage)
    timeline = gates.TIMELINE[stage]
    held = [f"{user_mention(user)} ({label})" for user, label in ((owner, "business owner"),
                                                                   (sponsor, "executive sponsor")) if user]
    vacant = [label for user, label in ((owner, "business owner"), (sponsor, "executive sponsor")) if not user]
    who = " and ".join(held)
    if vacant:
        stand_in = ", ".join(user_mention(a) for a in admins) or "nobody: no Steward admins are configured"
        who = (f"{who}; " if who else "") + f"the {' and the '.join(vacant)} {'is' if len(vacant) == 1 else 'are'} " \
              f"vacant, so the Steward admins: {stand_in}"
    missing = [f"• {c.label}" + (f" — {detail(c, key=initiative.key, stage=stage)}" if detail(
        c, key=initiative.key, stage=stage) else "") for c in unmet(list(checks))]
    line = (f":hourglass: *{stage_title(stage)}* of `{initiative.key}` has overrun the framework's timeline "
            f"({timeline.weeks}): its target was {_day(target)}. {who}: still missing:\n"
            + ("\n".join(missing) if missing else "nothing: `/steward initiative advance "
               f"{initiative.key}` moves it on."))
    return render("note", text=f"{initiative.key} overran {stage_title(stage)}", line=line, context_line=None)


def review_skipped_note(stage: Stage) -> str:
    """The notes left on a review closed because its stage ended."""
    return f"skipped: {stage} ended"


def only_admins_or_owner() -> str:
    return "Only Steward admins and the business owner can advance an initiative."


def retired(key: str) -> str:
    return f"`{key}` is retired; there is no stage after it."
