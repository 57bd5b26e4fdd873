"""Sign-offs bound to what they approve: a later change that breaks an exit criterion voids the stage exit.

One flow, called in the transaction of each change that can break a criterion: a readiness dimension set to
not-ready (`governance.set_readiness`), a required role vacated (`roles.unassign`), the baseline superseded or the
governance record rejected (`signoffs`). The voided sign-off stays in history and in
the audit chain; a void row (bound to the `signoff.voided` event) says it no longer counts, and the channel is told.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.domain.gates import STAGE_EXIT_SIGNED, exit_checklist, unmet
from bot.domain.signoff import SubjectKind
from bot.outbox import queue_message
from bot.services.context import Services
from messages import signoffs as signoff_messages
from storage import audit, records
from storage.audit import append_event
from storage.models import Initiative, SignOffVoid


class Cause:
    """What changed (kept on the void and in the audit event)."""

    READINESS = "readiness"
    ROLE = "role"
    BASELINE = "baseline"
    GOVERNANCE = "governance"


def void_broken_stage_exit(session: Session, services: Services, initiative: Initiative, *, cause: str, by: str,
                           now: datetime, baseline_superseded: bool = False) -> list[SignOffVoid]:
    """Void the standing stage-exit approvals of the current stage if an exit criterion no longer holds.

    Cheap when nothing is signed: the checklist is gathered only when an approval stands.
    """
    standing = [s for s in records.standing_approvals(session=session, initiative_id=initiative.id,
                                                      subject=SubjectKind.STAGE_EXIT.value,
                                                      since=initiative.stage_entered_at)
                if s.stage == initiative.stage]
    if not standing:
        return []
    # The stages flow gathers from the governance and KPI flows, which call this one: imported when needed.
    from bot.services.stages import gate_facts

    checks = exit_checklist(gate_facts(session, services, initiative, now))
    broken = [check for check in unmet(checks) if check.name != STAGE_EXIT_SIGNED]
    if not broken and not baseline_superseded:
        return []
    reason = signoff_messages.void_reason(broken, baseline_superseded=baseline_superseded)
    voids = [void for signoff in standing if (void := records.add_void(session=session, void=SignOffVoid(
        team_id=initiative.team_id, initiative_id=initiative.id, signoff_id=signoff.id, cause=cause, reason=reason,
        voided_by=by, voided_at=now))) is not None]
    if not voids:
        return []  # a concurrent change voided them first
    append_event(session=session, team_id=initiative.team_id, actor=by, action="signoff.voided",
                 target=initiative.key,
                 payload={"signoffs": [s.id for s in standing], "subject": SubjectKind.STAGE_EXIT.value,
                          "stage": initiative.stage, "cause": cause, "broken": [c.label for c in broken],
                          "baseline_superseded": baseline_superseded, "reason": reason}, at=now)
    audit.bind(session=session, team_id=initiative.team_id, rows=voids)
    signed = standing[-1]
    queue_message(session=session, team_id=initiative.team_id, key=f"signoff-void:{voids[0].id}",
                  channel_id=initiative.channel_id,
                  message=signoff_messages.voided(signed, initiative, reason=reason, by=by),
                  purpose="notice", initiative_id=initiative.id, at=now)
    return voids
