"""The audit trail people see: recent events of an initiative, and the witnesses of each chain head in Slack."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.domain.commands import AuditShow
from bot.outbox import queue_message
from bot.services.context import Actor, Services
from bot.services.lookup import require_initiative
from bot.services.steps import StepResult, each_row
from messages import audit as audit_messages
from messages.render import Message
from storage import audit
from storage.db import read_scope, session_scope
from storage.models import AuditHead

_WITNESS_KEY = re.compile(r"^witness:(?P<day>\d{4}-\d{2}-\d{2}):(?P<team>[A-Z0-9]{1,32}):(?P<seq>\d{1,12}):"
                          r"(?P<hash>[0-9a-f]{64})$")


@dataclass(frozen=True)
class WitnessKey:
    """The outbox key of a witness post: it names the head, so Slack's copy stands without the database.

    The outbox posts the key in the message's metadata; `steward audit verify --slack` reads the head
    back from there (from messages Steward's own bot user posted), never from the wording.
    """

    day: date
    team_id: str
    seq: int
    digest: str

    def encode(self) -> str:
        return f"witness:{self.day.isoformat()}:{self.team_id}:{self.seq}:{self.digest}"

    @classmethod
    def decode(cls, key: object) -> WitnessKey | None:
        match = _WITNESS_KEY.match(str(key or ""))
        if match is None:
            return None
        try:
            day = date.fromisoformat(match["day"])
        except ValueError:  # 2026-13-05: shaped like a day, but none
            return None
        return cls(day, match["team"], int(match["seq"]), match["hash"])


def show(services: Services, actor: Actor, command: AuditShow) -> Message:
    with read_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=actor.team_id, key=command.key)
        events = audit.recent_events(session=session, team_id=actor.team_id, target=initiative.key, limit=20)
    return audit_messages.trail(initiative, events)


# Events that are witnessed at the next sweep rather than within the hour: decisions and stage changes.
URGENT_ACTIONS = ("signoff.recorded", "scope_expansion.approved", "stage.advanced")
WITNESS_EVERY = timedelta(hours=1)  # otherwise a moving head is witnessed at most this often
WITNESS_GAP = timedelta(minutes=1)  # and never twice within this, however many sign-offs: one post per sweep


def post_witnesses(services: Services, *, now: datetime) -> StepResult:
    """Post each workspace's chain head (count and latest hash) to the audit channel when it is due.

    A head is due at the next sweep after a sign-off or stage change, otherwise at most hourly while it
    moves; whatever happened meanwhile is covered by one post per workspace, and never more than one a
    minute, so a burst of sign-offs makes one post and Slack's per-channel limit holds.
    """
    result = StepResult("witnesses")
    channel_id = services.settings.steward_audit_channel
    if not channel_id:
        return result
    with read_scope(services.engine) as session:
        heads = audit.heads(session=session)

    def witness(head: AuditHead) -> bool:
        with session_scope(services.engine) as session:
            if not audit.witness_due(session=session, head=head, now=now, urgent_actions=URGENT_ACTIONS,
                                     every=WITNESS_EVERY, gap=WITNESS_GAP):
                return False
            day = now.date()
            if audit.add_witness(session=session, head=head, day=day, channel_id=channel_id, at=now) is None:
                return False  # another replica witnessed this head meanwhile
            key = WitnessKey(day, head.team_id, head.seq, head.hash)
            message = audit_messages.witness(team_id=head.team_id, day=day, seq=head.seq, digest=head.hash)
            return queue_message(session=session, team_id=head.team_id, key=key.encode(), channel_id=channel_id,
                                 message=message, purpose="audit.witness", at=now)

    return each_row(result, heads, lambda head: f"workspace {head.team_id}", witness)
