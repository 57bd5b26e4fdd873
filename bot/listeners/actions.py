"""Buttons on Steward's messages: ack at once, run the same flow as the matching command, answer privately.

The answer goes to the click's response_url (no channel membership needed, shown where the click was);
a form opened by a click carries that URL in its metadata for the submission's answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.commands import IncidentAck
from bot.listeners.people import actor_from
from bot.services import comms, incidents, notify, reviews, runner
from bot.services.context import Actor, Services
from bot.services.home import queue_home
from bot.slack_port import classify
from messages import comms as comms_messages
from messages import errors as error_messages
from messages import signoffs as signoff_messages
from messages.codec import (
    INCIDENT_ACK,
    INCIDENT_ESCALATE,
    INCIDENT_RESOLVE,
    REVIEW_DONE,
    SIGNOFF_OPEN,
    EscalateButton,
    IncidentButton,
    ReviewButton,
    SignoffButton,
    attach_reply_url,
)
from messages.render import Message

log = logging.getLogger(__name__)


def complete_review(ack: Ack, body: dict, action: dict, client: WebClient, services: Services) -> None:
    """Mark done on a review prompt: open the form with the review kind's questions (issue 17); the submission
    completes it (bot.listeners.views). `/steward review done R<n> [notes]` stays for a quick note."""
    ack()
    actor = actor_from(body)
    outcome = runner.run(services, actor, lambda: reviews.answers_form(
        services, actor, ReviewButton.decode(action.get("value")).number))
    _open(client, body, services, actor, outcome)


def acknowledge_incident(ack: Ack, body: dict, action: dict, services: Services) -> None:
    """Acknowledge on an incident (its root, a direct page, the Home tab), as `/steward incident ack INC<n>`."""
    ack()
    actor = actor_from(body)
    _answer(body, services, actor, lambda: incidents.acknowledge(
        services, actor, IncidentAck(IncidentButton.decode(action.get("value")).number)))
    if (body.get("container") or {}).get("type") == "view":
        # Clicked on the Home tab's open pages: it has no reply URL; the refreshed tab shows the outcome.
        queue_home(services, team_id=actor.team_id, user_id=actor.user_id,
                   opened=f"ack:{action.get('action_ts') or actor.now.timestamp()}", now=actor.now)


def escalate_incident(ack: Ack, body: dict, action: dict, services: Services) -> None:
    """Escalate now: page the next level, unless the click was made on a message of an older level."""
    ack()
    actor = actor_from(body)

    def flow():
        button = EscalateButton.decode(action.get("value"))
        return incidents.escalate_now(services, actor, button.number, button.seen_level)

    _answer(body, services, actor, flow)


def _answer(body: dict, services: Services, actor: Actor, flow: Callable[[], Message]) -> None:
    """Run a click's flow and answer the person who clicked, through the click's response_url."""
    notify.tell(services, actor, runner.run(services, actor, flow).message, reply_url=body.get("response_url"))


def open_resolve_form(ack: Ack, body: dict, action: dict, client: WebClient, services: Services) -> None:
    """Resolve on an incident: open the form asking for the resolution."""
    ack()
    actor = actor_from(body)
    outcome = runner.run(services, actor, lambda: incidents.resolve_form(
        services, actor, IncidentButton.decode(action.get("value")).number))
    _open(client, body, services, actor, outcome)


def open_signoff_form(ack: Ack, body: dict, action: dict, client: WebClient, services: Services) -> None:
    """Sign off…: open the form for the initiative and subject the button names."""
    ack()
    actor = actor_from(body)

    def form() -> dict:
        return signoff_messages.form(SignoffButton.decode(action.get("value")), channel_id=actor.channel_id)

    _open(client, body, services, actor, runner.run(services, actor, form))


def open_comms_form(ack: Ack, body: dict, action: dict, client: WebClient, services: Services) -> None:
    """G (issue 17): Done… on a task of the launch communication plan opens the form asking for its evidence."""
    ack()
    actor = actor_from(body)

    def form() -> dict:
        button = comms_messages.CommsButton.decode(action.get("value"))
        return comms.open_form(services, actor, button.key, button.task)

    _open(client, body, services, actor, runner.run(services, actor, form))


def _open(client: WebClient, body: dict, services: Services, actor: Actor, outcome: runner.Outcome) -> None:
    reply_url = body.get("response_url")
    if not outcome.ok:
        notify.tell(services, actor, outcome.message, reply_url=reply_url)
        return
    # trigger_id expires after 3 s, so the form opens here rather than through the outbox; the client never
    # waits out a 429 in this thread, so a refusal is told at once instead.
    try:
        client.views_open(trigger_id=body["trigger_id"], view=attach_reply_url(outcome.value, reply_url))
    except Exception as exc:
        error = classify(exc).error if isinstance(exc, (SlackApiError, OSError)) else type(exc).__name__
        log.warning("views.open failed for %s: %s", actor.user_id, error)
        notify.tell(services, actor, error_messages.form_not_opened(error), reply_url=reply_url)


def register(app: App) -> None:
    app.action(REVIEW_DONE)(complete_review)
    app.action(INCIDENT_ACK)(acknowledge_incident)
    app.action(INCIDENT_ESCALATE)(escalate_incident)
    app.action(INCIDENT_RESOLVE)(open_resolve_form)
    app.action(SIGNOFF_OPEN)(open_signoff_form)
    app.action(comms_messages.COMMS_OPEN)(open_comms_form)  # G (issue 17)
