"""The replay guard in front of every listener: a request Slack (or anyone) delivers again is not acted on again.

A global middleware, after Bolt has checked the signature, claims the request's id (see
`bot.services.replay`); a replay gets the first answer of a slash command (or "already handled"), and an empty
200 for a button, a form or an event, without running any listener. A command that only reads (`dispatch.READS_ONLY`)
claims nothing: delivered again it is answered again, and costs no write. The app's `dispatch` is wrapped so that,
once a listener has answered, the answer is kept for a command's replays.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse

from bot import clock
from bot.services import dispatch as dispatch_table
from bot.services import replay
from bot.services.context import Services
from messages import replays as replay_messages

log = logging.getLogger(__name__)
CLAIM = "steward_replay_claim"
MAX_KEY = 200


def request_key(body: dict) -> tuple[str, str] | None:
    """(team id, request id) of a request that acts, or None for one that never acts (url_verification)."""
    user = body.get("user") if isinstance(body.get("user"), dict) else {}
    team = body.get("team") if isinstance(body.get("team"), dict) else {}
    team_id = str(body.get("team_id") or team.get("id") or user.get("team_id") or "")
    kind = body.get("type")
    key = None
    if body.get("command") and body.get("trigger_id"):
        key = f"command:{body['trigger_id']}"
    elif kind == "block_actions":
        actions = body.get("actions") or [{}]
        action_ts = actions[0].get("action_ts") if isinstance(actions[0], dict) else None
        if action_ts and user.get("id"):
            key = f"action:{action_ts}:{user['id']}"
    elif kind == "view_submission":
        view = body.get("view") if isinstance(body.get("view"), dict) else {}
        if view.get("id") and view.get("hash"):
            # The same form may be submitted again after an inline error, with new values: only the same
            # values again are a replay.
            state = json.dumps(view.get("state") or {}, sort_keys=True, separators=(",", ":"))
            key = f"view:{view['id']}:{view['hash']}:{hashlib.sha256(state.encode()).hexdigest()[:16]}"
    elif kind == "event_callback" and body.get("event_id"):
        event = body.get("event") if isinstance(body.get("event"), dict) else {}
        if (event.get("type") == "message" and not event.get("thread_ts")
                and event.get("subtype") not in ("message_changed", "message_deleted")):
            return None  # D: a channel message outside any thread never acts (bot.listeners.events.message)
        key = f"event:{body['event_id']}"
    if key is None:
        return None
    if len(key) > MAX_KEY:  # ids are short; a forged long one is kept by its digest
        key = key.split(":", 1)[0] + ":sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return team_id, key


def _replay_answer(body: dict, earlier: replay.Earlier) -> BoltResponse:
    if not body.get("command"):
        return BoltResponse(status=200, body="")  # a button, form or event: acknowledged, nothing done
    if earlier.done and earlier.answer:
        return BoltResponse(status=200, body=earlier.answer, headers={"content-type": "application/json"})
    message = (replay_messages.already_handled(earlier.seen_at) if earlier.done
               else replay_messages.still_running())
    payload = {"response_type": "ephemeral", "text": message.text, "blocks": message.blocks}
    return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})


def install(app: App, services: Services) -> None:
    """Put the guard in front of every listener of `app` (after Bolt's signature check)."""

    def replay_guard(req: BoltRequest, next_: Callable[[], None]) -> BoltResponse | None:
        found = request_key(req.body)
        if found is None or (req.body.get("command") and dispatch_table.only_reads(req.body.get("text") or "")):
            return next_()  # never acts (a read-only command is simply answered again): nothing to claim
        team_id, key = found
        earlier = replay.claim(services, team_id=team_id, key=key, now=clock.now())
        if earlier is None:
            req.context[CLAIM] = found
            return next_()
        log.info("replayed request %s (team %s) answered without acting", key, team_id)
        return _replay_answer(req.body, earlier)

    app.use(replay_guard)
    dispatch = app.dispatch

    def dispatch_and_remember(req: BoltRequest) -> BoltResponse:
        response = dispatch(req)
        claimed = req.context.get(CLAIM)
        if claimed is not None:
            answer = (response.body if req.body.get("command") and response.status == 200
                      and isinstance(response.body, str) and response.body else None)
            try:
                replay.finish(services, team_id=claimed[0], key=claimed[1], now=clock.now(), answer=answer)
            except Exception:  # the request was handled; a replay then gets "already handled"
                log.exception("could not record that request %s was handled", claimed[1])
        return response

    app.dispatch = dispatch_and_remember  # type: ignore[method-assign]
