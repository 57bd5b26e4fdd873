"""Hostile and broken input through every command's real flow: a reply or a clear refusal, never a crash,
never a change of state on refusal, and user text that can never ping a channel or forge a mention."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func
from sqlmodel import Session, select

from bot.errors import StewardError
from bot.services import dispatch
from bot.services.context import Actor
from storage import models
from tests.harness import ADMIN

OWNER, PM, OTHER = "UOWNER0001", "UPM0000001", "UOTHER0001"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
STATEFUL = [models.Initiative, models.RoleAssignment, models.Review, models.Incident, models.SignOff,
            models.KpiMeasurement, models.KpiThreshold, models.ReadinessAssessment, models.GovernanceItem,
            models.Deviation, models.OutboxMessage, models.ApiToken]
SHOUTS = re.compile(r"<!(channel|here|everyone)")
MENTION = re.compile(r"<@([A-Z0-9]+)")

NASTY = st.sampled_from([
    "<!channel>", "<!here|here>", "<!everyone>", "<@UEVIL00001>", "<@UEVIL00001|boss>", "<#C0OPS|ai-ops>",
    "*bold* _it_ ~s~", "```code```", "<https://evil.example|click>", "&lt;!channel&gt;", "&amp;", "\u202eevil",
    "é" * 50, "x" * 3000, "\n\n", "🔥", "'; DROP TABLE initiatives; --", "{{ 7*7 }}", "%s%n", "\\u0000",
])
WORDS = st.one_of(NASTY, st.sampled_from(["churn", "R1", "INC1", "owner", "pm", "sev2", "approve", "latency", "5",
                                          "use-case", "data", "ready", "baseline", "review:R1", "postmortem:INC1"]),
                  st.text(min_size=1, max_size=30).filter(lambda t: t.strip()))
VERBS = st.sampled_from([
    "help", "initiative create", "initiative list", "initiative show", "initiative advance", "role assign",
    "role unassign", "review list", "review done", "incident declare", "incident ack", "incident resolve",
    "readiness", "governance", "signoff", "kpi threshold", "kpi record", "deviation log", "audit",
])


def snapshot(engine) -> dict:
    with Session(engine) as session:
        counts = {table.__name__: session.exec(select(func.count()).select_from(table)).one() for table in STATEFUL}
        counts["audit"] = len([e for e in session.exec(select(models.AuditEvent.action))
                               if not e.endswith("refused")])
        counts["outbox_max"] = session.exec(select(func.max(models.OutboxMessage.id))).one()
    return counts


@pytest.fixture
def world(steward):
    services = steward.runtime.services
    for user, text in [(ADMIN, "initiative create churn Churn predictor stage=operations since=2026-01-05"),
                       (ADMIN, f"role assign churn owner <@{OWNER}>"), (ADMIN, f"role assign churn pm <@{PM}>"),
                       (PM, "incident declare churn sev2 Drift")]:
        dispatch.execute(services, Actor("T0LOCAL", user, NOW, "C0OPS"), text)
    steward.runtime.sweep(NOW)
    return steward


@settings(max_examples=250, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(verb=VERBS, words=st.lists(WORDS, max_size=6), user=st.sampled_from([ADMIN, OWNER, PM, OTHER]))
def test_any_command_answers_or_refuses_and_refusals_change_nothing(world, verb, words, user):
    services = world.runtime.services
    before = snapshot(world.engine)
    actor = Actor("T0LOCAL", user, NOW, "C0OPS")
    try:
        message = dispatch.execute(services, actor, " ".join([verb, *words]))
    except StewardError as refusal:
        assert refusal.message
        assert snapshot(world.engine) == before
        return
    assert message.text and len(message.blocks) <= 50
    with Session(world.engine) as session:
        new = list(session.exec(select(models.OutboxMessage).where(
            models.OutboxMessage.id > (before["outbox_max"] or 0))))
        people = {row.user_id for row in session.exec(select(models.RoleAssignment))} | {ADMIN, OWNER, PM, OTHER}
    for payload in [message.text + message.blocks_json()] + [row.text + row.blocks for row in new]:
        assert not SHOUTS.search(payload), payload[:300]
        assert set(MENTION.findall(payload)) <= people, payload[:300]


HOSTILE = "<!channel> <!here> <@UEVIL00001> <!subteam^S0EVIL|@admins> <https://evil.example|click>"
SHORT_HOSTILE = "<!here> <@UEVIL00001> <!subteam^S0EVIL|@a> <https://evil.example|x>"  # names: 80 at most
LIVE_MARKUP = re.compile(r"<!(channel|here|everyone|subteam)|<https?://")
SOMEONE = {"owner": OWNER, "pm": PM, "data": "UDATA00001", "mlops": "UMLOPS0001", "sponsor": "USPONSOR01"}


def _live_texts(node, top: bool = True) -> list[str]:
    """The texts Slack parses for mentions and links: a message's `text` and every mrkdwn text object
    (plain_text, such as a header or a button label, is shown as typed and never pings)."""
    import json

    if isinstance(node, str):
        try:
            node = json.loads(node)
        except ValueError:
            return [node]
    found: list[str] = []
    if isinstance(node, dict):
        if (top or node.get("type") == "mrkdwn") and isinstance(node.get("text"), str):
            found.append(node["text"])
        for key, value in node.items():
            encoded = isinstance(value, str) and key in ("blocks", "view") and value.startswith(("[", "{"))
            if encoded or isinstance(value, (dict, list)):
                found.extend(_live_texts(value, top=False))
    elif isinstance(node, list):
        for item in node:
            found.extend(_live_texts(item, top=False))
    return found


def test_every_message_kind_shows_hostile_text_in_every_free_text_field_as_text(steward, slack):
    """Hostile text typed into every free-text field (names, titles, resolutions, comments, notes, evidence,
    governance text, deviations; by command and by form) never becomes a live mention, broadcast or link."""
    from freezegun import freeze_time

    replies: list[str] = []

    def settle(at: datetime) -> None:
        for second in range(0, 240, 2):  # the outbox paces posts per channel: let it send everything
            steward.drain(at + timedelta(seconds=second))

    def say(text: str, user: str = ADMIN, at: datetime = NOW) -> dict:
        with freeze_time(at):
            response = steward.command(text, user=user, channel="C0OPS")
        replies.append(response.body.decode())
        return response

    # A name refuses markup outright; the refusal itself is checked below with every other answer.
    say(f"initiative create evil {SHORT_HOSTILE} stage=operations since=2026-01-05")
    assert "Created evil" in say("initiative create evil Evil & *bold* _co_ stage=operations "
                                 "since=2026-01-05").body.decode()
    for alias, user in SOMEONE.items():
        say(f"role assign evil {alias} <@{user}>")
    for item in ("use-case", "compliance", "audit-spec"):
        say(f"governance evil {item} {HOSTILE}")
    say(f"readiness evil data ready {HOSTILE}")
    for kpi, value in {"task-completion": 90, "exception-rate": 8, "data-quality": 95, "adoption": 60,
                       "latency": 2}.items():
        say(f"kpi threshold evil {kpi} {value}", user=PM)
    say(f"signoff evil baseline reject {HOSTILE}", user=OWNER)
    say(f"signoff evil baseline approve {HOSTILE}", user=OWNER)
    say(f"incident declare evil sev1 {HOSTILE}", user=PM)
    say("incident ack INC1", user=PM)
    say(f"incident resolve INC1 {HOSTILE}", user=PM)
    say(f"signoff evil postmortem:INC1 reject {HOSTILE}", user=OWNER)  # issue 13.4: was posted unescaped
    say(f"signoff evil postmortem:INC1 approve {HOSTILE}", user=OWNER)
    say(f"deviation log evil {HOSTILE}", user=PM)
    steward.runtime.sweep(NOW)
    for number in range(1, 6):
        say(f"review done R{number} {HOSTILE}", user=OWNER)
        say(f"signoff evil review:R{number} approve {HOSTILE}", user=OWNER)
        say(f"signoff evil retraining:R{number} reject {HOSTILE}", user=OWNER)
    say(f"signoff evil stage-exit reject {HOSTILE}", user=OWNER)
    say(f"signoff evil scope-expansion reject {HOSTILE}", user=OWNER)
    for text in ("initiative show evil", "initiative list", "review list", "review list evil", "audit evil",
                 "governance evil", "help"):
        say(text, user=OWNER)

    # The same fields through the forms: a resolution and a postmortem comment.
    say(f"incident declare evil sev2 {HOSTILE}", user=PM)
    settle(NOW)
    root = next(m for m in slack.posts("C0OPS") if "thread_ts" not in m and "INC2" in m.get("text", ""))
    with freeze_time(NOW):
        steward.sender.click(action_id="incident_resolve", value="INC2", user=PM, channel="C0OPS", message=root,
                             block_id="incident_actions")
        view = slack.calls_to("views.open")[-1].args["view"]
        steward.sender.submit_view(callback_id="incident_resolve", user=PM, private_metadata=view["private_metadata"],
                                   values={"resolution": {"text": {"type": "plain_text_input", "value": HOSTILE}}})
    settle(NOW + timedelta(minutes=5))
    note = next((m for m in slack.thread("C0OPS", root["ts"]) if any(
        b["type"] == "actions" for b in m.get("blocks", []))), None)
    if note is not None:
        button = next(e for b in note["blocks"] if b["type"] == "actions" for e in b["elements"])
        with freeze_time(NOW):
            steward.sender.click(action_id=button["action_id"], value=button["value"], user=OWNER, channel="C0OPS",
                                 message=note, block_id=next(b["block_id"] for b in note["blocks"]
                                                             if b["type"] == "actions"))
            opened = slack.calls_to("views.open")[-1].args["view"]
            steward.sender.submit_view(
                callback_id="signoff_submit", user=OWNER, private_metadata=opened["private_metadata"],
                values={"decision": {"value": {"type": "radio_buttons", "selected_option": {"value": "approve"}}},
                        "comment": {"text": {"type": "plain_text_input", "value": HOSTILE}}})
    with freeze_time(NOW):
        steward.sender.event({"type": "app_home_opened", "user": OWNER, "channel": "D0OWNER", "tab": "home",
                              "event_ts": "1.0"})
    steward.runtime.sweep(NOW + timedelta(days=8))
    settle(NOW + timedelta(days=8))

    with Session(steward.engine) as session:
        stored = [text for row in session.exec(select(models.OutboxMessage))
                  for text in [row.text, *_live_texts(row.blocks, top=False)]]
        people = {row.user_id for row in session.exec(select(models.RoleAssignment))} | {ADMIN}
        postmortem = [s for s in session.exec(select(models.SignOff)) if s.subject.startswith("postmortem")]
    assert postmortem, "the walk must reach a postmortem sign-off"
    shown = [text for reply in replies for text in _live_texts(reply)] + stored + [
        text for call in slack.calls for text in _live_texts(call.args)]
    assert any("&lt;!channel&gt;" in payload for payload in shown)  # the text is there, as text
    for payload in shown:
        assert not LIVE_MARKUP.search(payload), payload[:400]
        assert set(MENTION.findall(payload)) <= people, payload[:400]
