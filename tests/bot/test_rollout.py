"""Controlled rollout (issue 17 point 1): a launch starts only with a pilot-era fallback and a first share, every
increase (and a first share above 20%) waits for the business owner's sign-off with the KPI standing as its
evidence, a breach while rolling out suggests holding, every launch review shows the fallback, and the launch ends
only at 100%, signed."""

import json
from datetime import timedelta

from sqlmodel import Session, select

from storage.models import AuditEvent, Initiative, RolloutStep, SignOff
from tests.bot.test_way_out import (
    DATA,
    GOOD,
    OWNER,
    PM,
    START,
    Clock,
    follow_review_way,
    sign_baseline,
    staff,
)
from tests.harness import ADMIN, message_text
from tests.tamper import tamper
from tests.test_cli import run_cli


def stage(steward) -> str:
    with Session(steward.engine) as session:
        return session.exec(select(Initiative)).one().stage


def steps(steward) -> list[RolloutStep]:
    with Session(steward.engine) as session:
        return list(session.exec(select(RolloutStep).order_by(RolloutStep.id)))


def posted(slack, words) -> list[dict]:
    return [m for m in slack.posts("C0OPS") if words in message_text(m)]


def in_launch(clock, *, days_ago=0):
    since = (START - timedelta(days=days_ago)).date()
    clock.type(f"initiative create triage Invoice triage stage=launch since={since.isoformat()}", user=ADMIN)
    staff(clock, "triage")
    sign_baseline(clock, "triage")


def ready_handoff(clock):
    """An initiative in handoff whose every other exit criterion holds."""
    since = (START - timedelta(days=45)).date()
    clock.type(f"initiative create triage Invoice triage stage=handoff since={since.isoformat()}", user=ADMIN)
    staff(clock, "triage")
    sign_baseline(clock, "triage")
    clock.type("governance triage use-case Invoices under 10k EUR")
    clock.type("governance triage compliance DPIA-2026-014", user=PM)
    clock.type("governance triage audit-spec every decision logged", user=PM)
    clock.type("signoff triage governance approve")
    follow_review_way(clock, "triage", "parallel-ops-review")


def test_launch_cannot_start_without_a_fallback_and_a_first_share(steward):
    clock = Clock(steward)
    ready_handoff(clock)
    shown = clock.type("initiative advance triage")
    assert ":x: Pilot-era fallback process recorded — none on record — `/steward fallback triage <description or " \
           "link>`" in shown
    assert ":x: First rollout share recorded — none yet — `/steward rollout triage <percent>`" in shown
    assert "Pre-launch orientation held" in shown  # advised, not required
    refused = clock.type("signoff triage stage-exit approve")
    assert "Pilot-era fallback process recorded" in refused and stage(steward) == "handoff"

    clock.type("fallback triage Clerks key invoices by hand in SAP as in the pilot: wiki/fallback", user=PM)
    shown = clock.type("initiative advance triage")
    assert ":white_check_mark: Pilot-era fallback process recorded" in shown
    assert ":x: First rollout share recorded" in shown and stage(steward) == "handoff"

    assert "now serves *10%*" in clock.type("rollout triage 10 the Lyon team only", user=PM)
    shown = clock.type("initiative advance triage")
    assert ":white_check_mark: First rollout share recorded — 10% of full volume" in shown
    missing = [line for line in shown.split("\n") if line.startswith(":x:")]
    assert not [line for line in missing if "fallback" in line.lower() or "rollout" in line.lower()], missing


def test_a_first_share_above_20_percent_waits_for_the_business_owner_with_the_kpis_as_evidence(steward, slack):
    clock = Clock(steward)
    in_launch(clock)
    for kpi, value in GOOD.items():
        clock.type(f"kpi record triage {kpi} {value}", user=DATA)
    reply = clock.type("rollout triage 30 two regions", user=PM)
    assert "a first share above 20% needs the business owner's sign-off" in reply
    assert f"when <@{OWNER}> signs `/steward signoff triage rollout:30 approve`" in reply
    [step] = steps(steward)
    assert step.applied_at is None  # not in force yet

    # The product manager cannot sign it; the business owner can, and the share takes effect.
    refused = clock.type("signoff triage rollout:30 approve", user=PM)
    assert "business owner" in refused and steps(steward)[0].applied_at is None
    signed = clock.type("signoff triage rollout:30 approve go")
    assert "now serves 30% of full volume" in signed
    [step] = steps(steward)
    assert step.applied_at is not None and step.signoff_id is not None
    with Session(steward.engine) as session:
        signoff = session.get(SignOff, step.signoff_id)
    evidence = json.loads(signoff.evidence)
    assert signoff.subject == "rollout:30" and evidence["latest_kpis"]["adoption"] == GOOD["adoption"]
    steward.runtime.sweep(clock.now)
    assert posted(slack, "asks to serve *30%*") and posted(slack, "Rollout started")


def test_each_increase_needs_a_signoff_a_decrease_does_not_and_bad_input_changes_nothing(steward):
    clock = Clock(steward)
    in_launch(clock)
    assert "now serves *10%*" in clock.type("rollout triage 10", user=PM)
    assert "every increase needs the business owner's sign-off" in clock.type("rollout triage 25", user=PM)
    assert "already serves 10%" in clock.type("rollout triage 10", user=PM)  # a repeat asks nothing new
    # The owner signs first, then records: the standing approval puts it in force at once.
    clock.type("signoff triage rollout:50 approve")
    assert "now serves *50%* of full volume from 10%, signed by" in clock.type("rollout triage 50", user=PM)
    assert [s.percent for s in steps(steward) if s.applied_at] == [10, 50]
    assert "now serves *20%*" in clock.type("rollout triage 20 exceptions are up", user=PM)  # holding back
    # That approval of 50% was used before the step down: going back up needs a new one.
    assert "needs the business owner's sign-off" in clock.type("rollout triage 50", user=PM)

    before = len(steps(steward))
    for text, words in (("rollout triage 0", "not a share"), ("rollout triage 101", "not a share"),
                        ("rollout triage lots", "not a share"), ("rollout triage", "share is missing"),
                        ("rollout Triage 10", "not a valid initiative key"),
                        ("rollout nosuch 10", "nosuch"), ("fallback triage", "Describe the pilot-era fallback"),
                        ("signoff triage rollout:0 approve", "not a sign-off subject")):
        assert words in clock.type(text, user=PM), text
    assert "role" in clock.type("rollout triage 15", user="UNOBODY001")  # not a role holder
    assert len(steps(steward)) == before


def test_the_rollout_is_recorded_only_around_launch(steward):
    clock = Clock(steward)
    clock.type("initiative create triage Invoice triage", user=ADMIN)
    staff(clock, "triage")
    assert "the rollout share is recorded during launch" in clock.type("rollout triage 10", user=PM)
    assert steps(steward) == []


def test_every_launch_review_shows_the_fallback_and_the_share(steward, slack):
    clock = Clock(steward)
    in_launch(clock)
    clock.type("fallback triage Clerks key invoices by hand: wiki/fallback", user=PM)
    clock.type("rollout triage 15", user=PM)
    clock.later(14)
    prompts = [message_text(c.args) for c in slack.calls_to("chat.postMessage")
               if "Weekly launch review" in message_text(c.args) and "*Why:*" in message_text(c.args)]
    assert len(prompts) >= 2  # the prompts as posted (a later one supersedes and rewrites the earlier)
    for text in prompts:
        assert "Fallback process:* Clerks key invoices by hand: wiki/fallback" in text
        assert "Rollout:* 15% of full volume" in text
    shown = clock.type("initiative show triage")  # and so does the detail
    assert "Fallback process:* Clerks key invoices by hand: wiki/fallback" in shown
    assert "Rollout:* 15% of full volume" in shown


def test_a_kpi_breach_while_rolling_out_suggests_holding_the_share(steward, slack):
    clock = Clock(steward)
    in_launch(clock)
    clock.type("rollout triage 15", user=PM)
    clock.type("kpi record triage exception-rate 20", user=DATA)  # threshold 8: a breach
    steward.runtime.sweep(clock.now)
    [hold] = posted(slack, "Suggestion: hold the rollout at 15%")
    assert f"<@{OWNER}>" in message_text(hold) and "`/steward rollout triage <lower percent>`" in message_text(hold)


def test_no_hold_suggestion_at_full_scope(steward, slack):
    clock = Clock(steward)
    in_launch(clock)
    clock.type("signoff triage rollout:100 approve")
    clock.type("rollout triage 100", user=PM)
    clock.type("kpi record triage exception-rate 20", user=DATA)
    steward.runtime.sweep(clock.now)
    assert not posted(slack, "Suggestion: hold the rollout")


def test_the_launch_exit_needs_the_full_share_signed(steward):
    clock = Clock(steward)
    in_launch(clock, days_ago=100)
    clock.type("fallback triage Clerks key invoices by hand", user=PM)
    clock.type("rollout triage 60", user=PM)
    clock.type("signoff triage rollout:60 approve")
    follow_review_way(clock, "triage", "launch-review")
    for kpi, value in GOOD.items():
        clock.type(f"kpi record triage {kpi} {value}", user=DATA)
    shown = clock.type("initiative advance triage")
    assert (":x: Rollout at 100% of the intended scope, signed by the business owner — 60% of full volume — "
            "`/steward rollout triage 100`, then `/steward signoff triage rollout:100 approve`") in shown
    assert "Rollout at 100%" in clock.type("signoff triage stage-exit approve")
    assert "It takes effect when <@UOWNER0001> signs" in clock.type("rollout triage 100", user=PM)
    clock.type("signoff triage rollout:100 approve")
    shown = clock.type("initiative advance triage")
    assert ":white_check_mark: Rollout at 100% of the intended scope" in shown
    clock.type("signoff triage stage-exit approve")
    clock.type("initiative advance triage")
    assert stage(steward) == "operations"
    with Session(steward.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert "rollout.requested" in actions and "rollout.set" in actions and "fallback.recorded" in actions


def test_the_rollout_fallback_and_plan_are_bound_into_the_audit_chain(steward, slack):
    clock = Clock(steward)
    in_launch(clock)
    clock.type("fallback triage clerks key invoices by hand", user=PM)
    clock.type("rollout triage 10", user=PM)
    clock.type("signoff triage rollout:40 approve")
    clock.type("rollout triage 40", user=PM)
    clock.type("comms triage orientation done deck wiki/o", user=PM)
    env = {"DATABASE_URL": steward.settings.database_url, "SLACK_BOT_TOKEN": slack.token,
           "SLACK_API_URL": slack.api_url}
    result = run_cli("audit", "verify", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    # Someone widens the rollout behind Steward's back: the chain says so.
    [_, widened] = [s for s in steps(steward) if s.applied_at]
    tamper(steward.settings.database_url, "UPDATE rollout_steps SET percent = 100 WHERE id = :id", id=widened.id)
    result = run_cli("audit", "verify", env=env)
    assert result.returncode == 1
    assert f"rollout step {widened.id} (100%) differs from what event" in result.stdout
