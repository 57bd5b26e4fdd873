"""Buttons on Steward's messages: ack at once, run the same flow as the matching command."""

from __future__ import annotations

from slack_bolt import Ack, App

from bot import clock
from bot.domain.commands import (
    MAX_COMMENT,
    MAX_RESOLUTION,
    IncidentAck,
    IncidentResolve,
    ReviewDone,
    SignOffCommand,
    incident_number,
    review_number,
)
from bot.domain.signoff import Decision, parse_subject
from bot.errors import StewardError, UsageError
from bot.listeners.replies import run_flow
from bot.services import incidents, notify, reviews, signoffs
from bot.services.context import Actor, Services
from messages.render import render, render_view


def actor_of(body: dict) -> Actor:
    team = (body.get("team") or {}).get("id") or body["user"].get("team_id")
    return Actor(team_id=team, user_id=body["user"]["id"], channel_id=(body.get("channel") or {}).get("id"),
                 now=clock.now())


def register(app: App, services: Services) -> None:
    @app.action("review_done")
    def review_done(ack: Ack, body: dict, action: dict) -> None:
        ack()
        actor = actor_of(body)
        message = run_flow(lambda: reviews.complete(services, actor, ReviewDone(review_number(action.get("value"),
                                                                                               "Mark done"))))
        notify.tell(services, actor, message)

    @app.action("incident_ack")
    def incident_ack(ack: Ack, body: dict, action: dict) -> None:
        ack()
        actor = actor_of(body)
        message = run_flow(lambda: incidents.acknowledge(services, actor, IncidentAck(
            incident_number(action.get("value"), "Acknowledge"))))
        notify.tell(services, actor, message)

    @app.action("incident_escalate")
    def incident_escalate(ack: Ack, body: dict, action: dict) -> None:
        ack()
        actor = actor_of(body)

        def flow():
            # The button carries the level its message showed, so a stale click cannot page twice.
            number, _, seen = str(action.get("value", "")).partition(":")
            if not seen.isdigit():
                raise UsageError("This Escalate button is malformed; use the one on the incident's message.")
            return incidents.escalate_now(services, actor, incident_number(number, "Escalate now"), int(seen))

        notify.tell(services, actor, run_flow(flow))

    @app.action("incident_resolve")
    def incident_resolve_button(ack: Ack, body: dict, action: dict, client) -> None:
        ack()
        actor = actor_of(body)
        try:
            view = incidents.resolve_form(services, actor, incident_number(action.get("value"), "Resolve"),
                                          max_length=MAX_RESOLUTION)
        except StewardError as error:
            notify.tell(services, actor, render("error", message=error.message, usage=error.usage))
            return
        # trigger_id expires after 3 s, so the modal opens here rather than through the outbox.
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view("incident_resolve")
    def incident_resolve_submitted(ack: Ack, body: dict, view: dict) -> None:
        incident_id, _, channel = view.get("private_metadata", "").partition("|")
        text = (((view.get("state") or {}).get("values") or {}).get("resolution") or {}).get("text") or {}
        resolution = (text.get("value") or "").strip()
        user = body["user"]
        actor = Actor(team_id=(body.get("team") or {}).get("id") or user.get("team_id"), user_id=user["id"],
                      channel_id=channel or None, now=clock.now())
        try:
            if not resolution:
                raise UsageError("A resolution is needed: say what was wrong and what fixed it.")
            if len(resolution) > MAX_RESOLUTION:
                raise UsageError(f"At most {MAX_RESOLUTION} characters, please.")
            message = incidents.resolve(services, actor, IncidentResolve(incident_number(incident_id, "Resolve"),
                                                                         resolution))
        except StewardError as error:
            # Shown under the text box; the modal stays open and nothing was changed.
            ack(response_action="errors", errors={"resolution": error.message[:150]})
            return
        ack()
        notify.tell(services, actor, message)

    @app.action("signoff_open")
    def signoff_open(ack: Ack, body: dict, action: dict, client) -> None:
        ack()
        actor = actor_of(body)
        key, _, subject = str(action.get("value", "")).partition("|")
        if parse_subject(subject) is None:
            notify.tell(services, actor, render("error", message="This sign-off button is malformed.", usage=None))
            return
        view = render_view("signoff_modal", key=key, subject=subject,
                           metadata=f"{key}|{subject}|{actor.channel_id or ''}")
        client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.view("signoff_submit")
    def signoff_submitted(ack: Ack, body: dict, view: dict) -> None:
        key, subject_text, channel = ([*view.get("private_metadata", "").split("|"), "", "", ""])[:3]
        values = (view.get("state") or {}).get("values") or {}
        decision = (((values.get("decision") or {}).get("value") or {}).get("selected_option") or {}).get("value")
        comment = ((((values.get("comment") or {}).get("text") or {}).get("value")) or "").strip() or None
        user = body["user"]
        actor = Actor(team_id=(body.get("team") or {}).get("id") or user.get("team_id"), user_id=user["id"],
                      channel_id=channel or None, now=clock.now())
        subject = parse_subject(subject_text)
        try:
            if decision not in ("approve", "reject"):
                raise UsageError("Choose approve or reject.")
            if subject is None:
                raise UsageError("This sign-off form is malformed.")
            if comment and len(comment) > MAX_COMMENT:
                raise UsageError(f"At most {MAX_COMMENT} characters, please.")
            # The view id makes a double submission record once.
            message = signoffs.sign(services, actor, SignOffCommand(key, subject, Decision(decision), comment),
                                    request_key=f"view:{view.get('id')}")
        except StewardError as error:
            ack(response_action="errors", errors={"comment": error.message[:150]})
            return
        ack()
        notify.tell(services, actor, message)
