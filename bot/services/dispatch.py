"""The command table: each command's words, usage, parser and flow in one row; help is drawn from it.

Adding a command means one row here, its flow, and its message module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot.domain import commands as grammar
from bot.errors import UsageError
from bot.services import audit_trail, governance, incidents, initiatives, kpis, reviews, roles, signoffs, stages
from bot.services.context import Actor, Services
from messages import help as help_messages
from messages.render import Message

Flow = Callable[[Services, Actor, grammar.Command], Message]


@dataclass(frozen=True)
class CommandRow:
    name: str  # the words after /steward: `incident resolve`
    usage: str
    parse: Callable[[list[str], str], grammar.Command]
    flow: Flow


def show_help(services: Services, actor: Actor, command: grammar.Help) -> Message:
    """List every command's form, the roles and the stages."""
    return help_messages.commands([row.usage for row in COMMANDS])


COMMANDS: tuple[CommandRow, ...] = (
    CommandRow("help", "/steward help", grammar.parse_help, show_help),
    CommandRow("initiative create", "/steward initiative create <key> <name...> [stage=<stage>] "
               "[since=<YYYY-MM-DD>] [tz=<IANA zone>] [country=<XX>]", grammar.parse_create, initiatives.create),
    CommandRow("initiative list", "/steward initiative list", grammar.parse_list, initiatives.list_all),
    CommandRow("initiative show", "/steward initiative show <key>", grammar.parse_show, initiatives.show),
    CommandRow("role assign", f"/steward role assign <key> <role> {help_messages.PERSON}", grammar.parse_assign,
               roles.assign),
    CommandRow("role unassign", "/steward role unassign <key> <role>", grammar.parse_unassign, roles.unassign),
    CommandRow("review list", "/steward review list [key]", grammar.parse_review_list, reviews.list_open),
    CommandRow("review done", "/steward review done <review id, e.g. R12> [notes...]", grammar.parse_review_done,
               reviews.complete),
    CommandRow("incident declare", "/steward incident declare <key> <sev1|sev2|sev3|sev4> <title...> "
               "[kind=infrastructure]", grammar.parse_declare, incidents.declare),
    CommandRow("incident ack", "/steward incident ack <incident id, e.g. INC3>", grammar.parse_ack,
               incidents.acknowledge),
    CommandRow("incident resolve", "/steward incident resolve <incident id, e.g. INC3> <resolution...>",
               grammar.parse_resolve, incidents.resolve),
    CommandRow("initiative advance", "/steward initiative advance <key>", grammar.parse_advance, stages.advance),
    CommandRow("readiness", "/steward readiness <key> <data|integration|governance|baseline|organization> "
               "<ready|not-ready> [evidence...]", grammar.parse_readiness, governance.set_readiness),
    CommandRow("governance", "/steward governance <key> [<use-case|compliance|audit-spec> <link or text...>]",
               grammar.parse_governance, governance.set_or_show_governance),
    CommandRow("signoff", "/steward signoff <key> <stage-exit|baseline|governance|review:R<n>|retraining:R<n>|"
               "postmortem:INC<n>|scope-expansion> <approve|reject> [comment...]", grammar.parse_signoff,
               signoffs.sign),
    CommandRow("kpi threshold", "/steward kpi threshold <key> <task-completion|exception-rate|data-quality|"
               "adoption|latency> <value>", grammar.parse_threshold, kpis.set_threshold),
    CommandRow("kpi record", "/steward kpi record <key> <task-completion|exception-rate|data-quality|adoption|"
               "latency> <value>", grammar.parse_record, kpis.record_measurement),
    CommandRow("audit", "/steward audit <key>", grammar.parse_audit, audit_trail.show),
    CommandRow("deviation log", "/steward deviation log <key> <what departed from expected behaviour...>",
               grammar.parse_deviation, governance.log_deviation),
)


def parse(text: str) -> grammar.Command:
    """Parse the text after /steward against the table."""
    return grammar.parse(text, COMMANDS)


def execute(services: Services, actor: Actor, text: str) -> Message:
    """Parse the command text and run its flow; StewardError carries any refusal."""
    row, rest = grammar.match(text, COMMANDS)
    command = row.parse(rest, row.usage)
    try:
        return row.flow(services, actor, command)
    except UsageError as error:
        if error.usage is not None:
            raise
        # A flow refusing the command's form (a date in the future) shows the form, as the parser does.
        raise UsageError(error.message, usage=row.usage, attempt=error.attempt) from error
