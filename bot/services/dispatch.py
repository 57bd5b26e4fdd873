"""Route a parsed command to its flow; the one place that knows which flow serves which command."""

from __future__ import annotations

from bot.domain import commands
from bot.domain.commands import USAGE
from bot.domain.vocabulary import ROLE_ALIASES, Stage
from bot.services import audit_trail, governance, incidents, initiatives, kpis, reviews, roles, signoffs, stages
from bot.services.context import Actor, Services
from messages.render import Message, render


def show_help(services: Services, actor: Actor, command: commands.Help) -> Message:
    return render("help", usages=list(USAGE.values()), roles=[f"`{a}`" for a in ROLE_ALIASES],
                  stages=[f"`{s.value}`" for s in Stage if s is not Stage.RETIRED])


FLOWS = {
    commands.Help: show_help,
    commands.InitiativeCreate: initiatives.create,
    commands.InitiativeList: initiatives.list_all,
    commands.InitiativeShow: initiatives.show,
    commands.RoleAssign: roles.assign,
    commands.RoleUnassign: roles.unassign,
    commands.ReviewList: reviews.list_open,
    commands.ReviewDone: reviews.complete,
    commands.IncidentDeclare: incidents.declare,
    commands.IncidentAck: incidents.acknowledge,
    commands.IncidentResolve: incidents.resolve,
    commands.InitiativeAdvance: stages.advance,
    commands.ReadinessSet: governance.set_readiness,
    commands.GovernanceSet: governance.set_or_show_governance,
    commands.SignOffCommand: signoffs.sign,
    commands.KpiThresholdSet: kpis.set_threshold,
    commands.KpiRecord: kpis.record_measurement,
    commands.AuditShow: audit_trail.show,
    commands.DeviationLog: governance.log_deviation,
}


def execute(services: Services, actor: Actor, text: str) -> Message:
    """Parse the command text and run its flow; StewardError carries any refusal."""
    command = commands.parse(text)
    return FLOWS[type(command)](services, actor, command)
