"""What Steward says about stages: the exit checklist, the move to the next stage, and refusals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.domain.gates import STAGE_EXIT_SIGNED, Check, next_stage, unmet
from messages.render import Message, render, stage_title
from states import Stage


class InitiativeLike(Protocol):
    key: str
    name: str
    stage: Stage


def detail(check: Check, *, key: str, stage: Stage) -> str:
    """A check's detail as shown, with the command that satisfies it where there is one."""
    if check.name == STAGE_EXIT_SIGNED:
        return f"`/steward signoff {key} stage-exit approve` while in {stage}"
    return check.detail


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


def advanced(initiative: InitiativeLike, *, previous: Stage, actor: str, cadence: Sequence[str]) -> Message:
    """The notice in the initiative's channel that it moved to its next stage."""
    return render("stage_advanced", initiative=initiative, stage=initiative.stage, previous=previous, actor=actor,
                  cadence=list(cadence))


def review_skipped_note(stage: Stage) -> str:
    """The notes left on a review closed because its stage ended."""
    return f"skipped: {stage} ended"


def only_admins_or_owner() -> str:
    return "Only Steward admins and the business owner can advance an initiative."


def retired(key: str) -> str:
    return f"`{key}` is retired; there is no stage after it."
