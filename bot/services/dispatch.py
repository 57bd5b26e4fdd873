"""The command table: each command's words, usage, parser and flow in one row; help is drawn from it.

Adding a command means one row here, its flow, and its message module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot import logging_setup
from bot.domain import commands as grammar
from bot.domain import paging
from bot.domain import rollout as rollout_grammar
from bot.domain.artifacts import parse_artifact
from bot.errors import UsageError
from bot.services import (
    artifacts,
    audit_trail,
    business_value,
    comms,
    cover,
    governance,
    incidents,
    initiatives,
    kpis,
    pages,
    pipeline_heartbeats,
    prometheus_sources,
    reviews,
    roles,
    rollout,
    signoffs,
    stages,
    timeline,
)
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
    CommandRow("role cover", f"/steward role cover <key> <role> {help_messages.PERSON} until=<YYYY-MM-DD> [reason...]"
               " | /steward role cover <key> <role> end", grammar.parse_cover, cover.arrange),
    CommandRow("review list", "/steward review list [key]", grammar.parse_review_list, reviews.list_open),
    CommandRow("review done", "/steward review done <review id, e.g. R12> [notes...]", grammar.parse_review_done,
               reviews.complete),
    CommandRow("review attest", "/steward review attest <key> <kind, e.g. launch-review> <YYYY-MM-DD> <evidence...>",
               grammar.parse_review_attest, reviews.attest),
    CommandRow("review show", "/steward review show <review id, e.g. R12>", grammar.parse_review_show, reviews.show),
    CommandRow("value", "/steward value <key> <committed value and target...>", grammar.parse_value,
               business_value.commit),
    CommandRow("incident declare", "/steward incident declare <key> <sev1|sev2|sev3|sev4> <title...> "
               "[kind=infrastructure]", grammar.parse_declare, incidents.declare),
    CommandRow("incident ack", "/steward incident ack <incident id, e.g. INC3>", grammar.parse_ack,
               incidents.acknowledge),
    CommandRow("incident resolve", "/steward incident resolve <incident id, e.g. INC3> <resolution...>",
               grammar.parse_resolve, incidents.resolve),
    CommandRow("incident severity", "/steward incident severity <incident id, e.g. INC3> <sev1|sev2|sev3|sev4> "
               "[reason...]", paging.parse_severity_change, incidents.change_severity),
    CommandRow("me pages", "/steward me pages [dm|thread] [sev1 sev2 sev3 sev4]", paging.parse_page_preference,
               pages.set_preferences),
    CommandRow("incident show", "/steward incident show <incident id, e.g. INC3>", grammar.parse_incident_show,
               timeline.show),
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
    CommandRow("kpi source", "/steward kpi source <key> <task-completion|exception-rate|data-quality|adoption|"
               "latency> <prometheus <PromQL query...>|none>", grammar.parse_kpi_source, prometheus_sources.set_source),
    CommandRow("heartbeat create", "/steward heartbeat create <key> <name> every=<duration, e.g. 1h> "
               "[grace=<duration>]", grammar.parse_heartbeat_create, pipeline_heartbeats.create),
    CommandRow("heartbeat list", "/steward heartbeat list <key>", grammar.parse_heartbeat_list,
               pipeline_heartbeats.list_all),
    CommandRow("heartbeat delete", "/steward heartbeat delete <key> <name>", grammar.parse_heartbeat_delete,
               pipeline_heartbeats.delete),
    CommandRow("rollout", "/steward rollout <key> <percent> [note...]", rollout_grammar.parse_rollout,
               rollout.set_share),
    CommandRow("fallback", "/steward fallback <key> <description or link...>", rollout_grammar.parse_fallback,
               rollout.set_fallback),
    CommandRow("comms", "/steward comms <key> <orientation|training|support-channel> done <evidence...>",
               rollout_grammar.parse_comms, comms.done),
    CommandRow("audit", "/steward audit <key>", grammar.parse_audit, audit_trail.show),
    CommandRow("deviation log", "/steward deviation log <key> <what departed from expected behaviour...>",
               grammar.parse_deviation, governance.log_deviation),
    CommandRow("artifact", "/steward artifact <key> <acceptance-criteria|edge-cases|failure-modes> <link or text...>",
               parse_artifact, artifacts.record),  # H: issue 17
)


# Commands that only read (their flows write nothing): delivered again, they are simply answered again, so the
# replay guard (bot/listeners/replay.py) spends no write on them. A row added here must never write.
READS_ONLY = frozenset({"help", "initiative list", "initiative show", "review list", "audit", "review show"})


def only_reads(text: str) -> bool:
    """Whether this command text can change nothing: a read-only command, or one the parser refuses outright."""
    try:
        return grammar.match(text, COMMANDS)[0].name in READS_ONLY
    except UsageError:
        return True


def parse(text: str) -> grammar.Command:
    """Parse the text after /steward against the table."""
    return grammar.parse(text, COMMANDS)


def execute(services: Services, actor: Actor, text: str) -> Message:
    """Parse the command text and run its flow; StewardError carries any refusal."""
    row, rest = grammar.match(text, COMMANDS)
    command = row.parse(rest, row.usage)
    logging_setup.bind(initiative=getattr(command, "key", None))  # the log's `initiative` from here on
    try:
        return row.flow(services, actor, command)
    except UsageError as error:
        if error.usage is not None:
            raise
        # A flow refusing the command's form (a date in the future) shows the form, as the parser does.
        raise UsageError(error.message, usage=row.usage, attempt=error.attempt) from error
