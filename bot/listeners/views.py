"""Form submissions: answer Slack in every case, closing the form or showing the refusal under a field."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, App

from bot.domain.commands import (
    MAX_EVIDENCE,
    IncidentResolve,
    SignOffCommand,
    checked_text,
    comment_text,
    decision_named,
    resolution_text,
)
from bot.domain.rollout import CommsDone
from bot.errors import UsageError
from bot.listeners.people import actor_from
from bot.services import comms, incidents, notify, reviews, runner, signoffs
from bot.services.context import Actor, Services
from messages import comms as comms_messages
from messages.codec import RESOLVE_FORM, REVIEW_FORM, SIGNOFF_FORM, ResolveForm, ReviewForm, SignoffForm
from messages.render import Message
from messages.reviews import EVIDENCE_SUFFIX


def resolve_incident(ack: Ack, body: dict, view: dict, services: Services) -> None:
    """The resolve form: resolve the incident, as `/steward incident resolve INC<n> ...`."""
    actor = actor_from(body, channel_id=_channel(ResolveForm, view))

    def flow() -> Message:
        form = ResolveForm.decode(view.get("private_metadata"))
        resolution = resolution_text(_field(view, "resolution", "text").get("value"))
        return incidents.resolve(services, actor, IncidentResolve(form.number, resolution))

    _submit(ack, services, actor, "resolution", flow, _reply_url(ResolveForm, view))


def record_signoff(ack: Ack, body: dict, view: dict, services: Services) -> None:
    """The sign-off form: record the decision, as `/steward signoff <key> <subject> approve|reject ...`."""
    actor = actor_from(body, channel_id=_channel(SignoffForm, view))

    def flow() -> Message:
        form = SignoffForm.decode(view.get("private_metadata"))
        decision = decision_named((_field(view, "decision", "value").get("selected_option") or {}).get("value"))
        comment = comment_text(_field(view, "comment", "text").get("value"))
        # The view id makes a double submission record once.
        return signoffs.sign(services, actor, SignOffCommand(form.key, form.subject, decision, comment),
                             request_key=f"view:{view.get('id')}")

    _submit(ack, services, actor, "comment", flow, _reply_url(SignoffForm, view))


def record_review_answers(ack: Ack, body: dict, view: dict, services: Services) -> None:
    """The review form (issue 17): complete the review with the answers typed into its questions."""
    actor = actor_from(body, channel_id=_channel(ReviewForm, view))
    values = ((view.get("state") or {}).get("values") or {})
    submitted: dict[str, tuple[str | None, str | None]] = {}
    for block_id, actions in list(values.items())[:50]:
        if block_id == "notes" or not isinstance(actions, dict):
            continue
        question = block_id.removesuffix(EVIDENCE_SUFFIX)
        choice, text = submitted.get(question, (None, None))
        if block_id.endswith(EVIDENCE_SUFFIX):
            text = (actions.get("text") or {}).get("value")
        else:
            choice = ((actions.get("choice") or {}).get("selected_option") or {}).get("value")
            text = (actions.get("text") or {}).get("value") if "text" in actions else text
        submitted[question] = (choice, text)

    def flow() -> Message:
        form = ReviewForm.decode(view.get("private_metadata"))
        notes = comment_text(_field(view, "notes", "text").get("value"))
        return reviews.complete_with_answers(services, actor, form.number, submitted, notes)

    outcome = runner.run(services, actor, flow)
    if not outcome.ok:
        # Under the question the refusal is about (or the notes); the form stays open and nothing was changed.
        block = getattr(outcome.refusal, "block", None) or "notes"
        ack(response_action="errors", errors={block: outcome.form_error})
        return
    ack()
    notify.tell(services, actor, outcome.message, reply_url=_reply_url(ReviewForm, view))


def record_comms(ack: Ack, body: dict, view: dict, services: Services) -> None:
    """G (issue 17): the launch communication task form, as `/steward comms <key> <task> done <evidence...>`."""
    try:
        form, stale = comms_messages.CommsForm.decode(view.get("private_metadata")), None
    except UsageError as error:
        form, stale = None, error
    actor = actor_from(body, channel_id=form.channel_id if form else None)

    def flow() -> Message:
        if form is None:
            raise stale
        evidence = checked_text(_field(view, "evidence", "text").get("value"), None, what="evidence",
                                limit=MAX_EVIDENCE)
        channel = _field(view, "channel", "value").get("selected_channel") if form.task == "support-channel" else None
        if not evidence:
            raise UsageError("Say what shows it was done: a link to the deck, the attendance, the recording...")
        if form.task == "support-channel" and not channel:
            raise UsageError("Choose the support channel.")
        return comms.done(services, actor, CommsDone(form.key, form.task, evidence, channel))

    _submit(ack, services, actor, "evidence", flow, form.reply_url if form else None)


def _submit(ack: Ack, services: Services, actor: Actor, field: str, flow: Callable[[], Message],
            reply_url: str | None = None) -> None:
    outcome = runner.run(services, actor, flow)
    if not outcome.ok:
        # Shown under the field; the form stays open and nothing was changed.
        ack(response_action="errors", errors={field: outcome.form_error})
        return
    ack()
    # A submission has no response_url of its own: the click that opened the form lent its own.
    notify.tell(services, actor, outcome.message, reply_url=reply_url)


def _field(view: dict, block: str, action: str) -> dict:
    """The state of one input of a submitted form (empty when Slack sent none)."""
    return (((view.get("state") or {}).get("values") or {}).get(block) or {}).get(action) or {}


def _channel(form: type[ResolveForm] | type[SignoffForm] | type[ReviewForm], view: dict) -> str | None:
    """The channel a form answers in; None when its metadata does not decode (the flow then says why)."""
    try:
        return form.decode(view.get("private_metadata")).channel_id
    except UsageError:
        return None


def _reply_url(form: type[ResolveForm] | type[SignoffForm] | type[ReviewForm], view: dict) -> str | None:
    """The response_url of the click that opened the form, carried in its metadata (None: answer ephemerally)."""
    try:
        return form.decode(view.get("private_metadata")).reply_url
    except UsageError:
        return None


def register(app: App) -> None:
    app.view(RESOLVE_FORM)(resolve_incident)
    app.view(SIGNOFF_FORM)(record_signoff)
    app.view(REVIEW_FORM)(record_review_answers)
    app.view(comms_messages.COMMS_FORM)(record_comms)  # G (issue 17)
