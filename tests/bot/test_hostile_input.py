"""Hostile and broken input through every command's real flow: a reply or a clear refusal, never a crash,
never a change of state on refusal, and user text that can never ping a channel or forge a mention."""

import re
from datetime import UTC, datetime

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
