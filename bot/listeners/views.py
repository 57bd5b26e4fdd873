"""Form submissions: answer Slack in every case, closing the form or showing the refusal under a field."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Ack, App

from bot.domain.commands import IncidentResolve, SignOffCommand, comment_text, decision_named, resolution_text
from bot.errors import UsageError
from bot.listeners.people import actor_from
from bot.services import incidents, notify, runner, signoffs
from bot.services.context import Actor, Services
from messages.codec import RESOLVE_FORM, SIGNOFF_FORM, ResolveForm, SignoffForm
from messages.render import Message


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


def _channel(form: type[ResolveForm] | type[SignoffForm], view: dict) -> str | None:
    """The channel a form answers in; None when its metadata does not decode (the flow then says why)."""
    try:
        return form.decode(view.get("private_metadata")).channel_id
    except UsageError:
        return None


def _reply_url(form: type[ResolveForm] | type[SignoffForm], view: dict) -> str | None:
    """The response_url of the click that opened the form, carried in its metadata (None: answer ephemerally)."""
    try:
        return form.decode(view.get("private_metadata")).reply_url
    except UsageError:
        return None


def register(app: App) -> None:
    app.view(RESOLVE_FORM)(resolve_incident)
    app.view(SIGNOFF_FORM)(record_signoff)
