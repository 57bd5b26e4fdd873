"""The cadence end to end: sweeps at chosen moments post prompts and reminders to the local Slack."""

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from bot.runtime import build_runtime
from storage.db import make_engine
from storage.models import AuditEvent, Initiative, OutboxMessage, Review
from tests.harness import message_text, reply_text

OWNER, PM, DATA, MLOPS, OTHER = "UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001", "UOTHER0001"
BERLIN = ZoneInfo("Europe/Berlin")


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def staff(steward, key):
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS)):
        steward.command(f"role assign {key} {alias} <@{user}>")


@pytest.fixture
def operations(steward):
    """An initiative imported into operations since Monday 5 January 2026, Berlin time, fully staffed."""
    with freeze_time("2026-01-05 08:00:00"):
        steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05 "
                        "tz=Europe/Berlin", channel="C0OPS")
        staff(steward, "churn")
    steward.drain(utc(2026, 1, 5, 8))
    return steward


def prompts(slack, channel="C0OPS"):
    return [m for m in slack.posts(channel) if ("thread_ts" not in m and m["blocks"]
            and any(b.get("block_id") == "review_actions" for b in m["blocks"]))
            or ("thread_ts" not in m and m["edited"])]


def all_reviews(steward):
    with Session(steward.engine) as session:
        return list(session.exec(select(Review).order_by(Review.number)))


def test_a_year_of_operations_posts_exactly_the_cadence_once_each(operations, slack):
    steward = operations
    start = utc(2026, 1, 5, 6)
    for hour in range(0, 24 * 370, 6):  # a sweep every six hours for a year and a few days
        steward.runtime.sweep(start + timedelta(hours=hour))

    reviews = all_reviews(steward)
    assert Counter(r.kind for r in reviews) == {"monthly-performance-review": 12,
                                                 "quarterly-retraining-assessment": 4,
                                                 "biannual-governance-review": 2, "annual-scope-planning": 1}
    assert all(r.due_at.astimezone(BERLIN).hour == 10 and r.due_at.astimezone(BERLIN).weekday() < 5
               for r in reviews)
    # Each review's prompt reached Slack exactly once.
    with Session(steward.engine) as session:
        posted = list(session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "review.prompt")))
    assert len(posted) == len(reviews) and all(p.status == "sent" for p in posted)
    assert len({p.ts for p in posted}) == len(reviews)
    assert len([c for c in slack.calls_to("chat.postMessage") if "Why:" in str(c.args.get("blocks"))]) == 19
    first = next(r for r in reviews if r.number == 1)
    assert first.kind == "monthly-performance-review"
    assert first.due_at == utc(2026, 2, 5, 9)  # Thursday 5 February, 10:00 CET


def test_the_prompt_says_why_names_people_by_role_and_names_vacant_roles(operations, slack):
    operations.runtime.sweep(utc(2026, 7, 6, 9))  # the first biannual governance review
    governance = next(m for m in slack.posts("C0OPS") if "Biannual governance review" in message_text(m))
    text = message_text(governance)
    assert "Why:* Twice a year the governance record is reviewed" in text
    assert f"business owner: <@{OWNER}>" in text
    assert "executive sponsor: *vacant*, assign with `/steward role assign churn executive_sponsor @someone`" in text
    assert "Mon 06 Jul 2026 10:00 Europe/Berlin" in text  # 5 July is a Sunday
    buttons = [e for b in governance["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [(b["text"]["text"], b["action_id"]) for b in buttons] == [("Mark done", "review_done"),
                                                                      ("Sign off…", "signoff_open")]
    assert buttons[1]["value"] == "churn|review:R9"  # R1..R8: the monthly and quarterly reviews missed before


def test_reminders_come_in_the_thread_after_three_and_seven_days_then_stop(operations, slack):
    steward = operations
    with freeze_time("2026-02-02 12:00:00"):  # a measurement, so the review has a trend to chart
        steward.command("kpi record churn latency 1.2", user=OWNER)
    steward.runtime.sweep(utc(2026, 2, 5, 9))
    [prompt] = [m for m in slack.posts("C0OPS") if "Monthly performance review" in message_text(m)]
    for day in range(1, 20):
        steward.runtime.sweep(utc(2026, 2, 5, 9) + timedelta(days=day))
    [chart, *thread] = slack.thread("C0OPS", prompt["ts"])
    assert chart["files"]  # a monthly review with measurements gets the KPI trend chart in its thread
    assert len(thread) == 2
    first, last = (message_text(m) for m in thread)
    assert "has been open 3 days" in first and f"<@{PM}>" in first
    assert "*Last reminder.*" in last and "has been open 7 days" in last and f"<@{OWNER}>" in last
    # Thursday + 3 days is a Sunday: the first reminder waited for Monday 9 February.
    [reminder_rows] = [[r for r in all_reviews(steward) if r.number == 1]]
    assert reminder_rows[0].reminders_sent == 2 and reminder_rows[0].next_reminder_at is None


def test_completing_by_command_updates_the_prompt_and_stops_reminders(operations, slack):
    steward = operations
    steward.runtime.sweep(utc(2026, 2, 5, 9))
    with freeze_time("2026-02-06 12:00:00"):
        response = steward.command("review done R1 KPIs within thresholds", user=OWNER)
    assert "R1 (Monthly performance review, `churn`) is recorded as completed by you" in reply_text(response)
    steward.drain(utc(2026, 2, 6, 12))
    [prompt] = [m for m in slack.posts("C0OPS") if "Monthly performance review" in message_text(m)]
    assert prompt["edited"]
    assert f"*Completed* by <@{OWNER}> on Fri 06 Feb 2026 13:00 Europe/Berlin" in message_text(prompt)
    assert "KPIs within thresholds" in message_text(prompt)
    assert not any(b["type"] == "actions" for b in prompt["blocks"])
    for day in range(1, 10):
        steward.runtime.sweep(utc(2026, 2, 6, 9) + timedelta(days=day))
    assert [m for m in slack.thread("C0OPS", prompt["ts"]) if "files" not in m] == []
    [review] = [r for r in all_reviews(steward) if r.number == 1]
    assert (review.status, review.completed_by, review.notes) == ("completed", OWNER, "KPIs within thresholds")


def test_mark_done_button_completes_for_the_right_role_and_refuses_others(operations, slack):
    steward = operations
    steward.runtime.sweep(utc(2026, 2, 5, 9))
    [prompt] = [m for m in slack.posts("C0OPS") if "Monthly performance review" in message_text(m)]
    with freeze_time("2026-02-05 15:00:00"):
        refused = steward.sender.click(action_id="review_done", value="R1", user=MLOPS, channel="C0OPS",
                                       message=prompt, block_id="review_actions")
        assert refused.status == 200
        steward.drain()
        [ephemeral] = slack.state.responses  # through the click's response_url: only the clicker sees it
        assert ephemeral["response_type"] == "ephemeral"
        assert f"Only the business owner (<@{OWNER}>) can complete R1" in message_text(ephemeral)
        assert all_reviews(steward)[0].status == "posted"

        # Issue 17: Mark done opens the review's form; its submission completes the review (a double submission
        # records once).
        steward.sender.click(action_id="review_done", value="R1", user=OWNER, channel="C0OPS", message=prompt,
                             block_id="review_actions")
        [opened] = slack.calls_to("views.open")
        view = opened.args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        answers = {"value-delivered": {"choice": {"selected_option": {"value": "yes"}}},
                   "value-delivered--evidence": {"text": {"value": "Churn calls down 12%"}},
                   "kpi-standing": {"text": {"value": "Within"}}, "incidents-deviations": {"text": {"value": "None"}},
                   "user-feedback": {"text": {"value": "Export to CSV"}}}
        answered = [steward.sender.submit_view(callback_id="review_answers", values=answers, user=OWNER,
                                               private_metadata=view["private_metadata"]) for _ in range(2)]
        steward.drain()
    assert all_reviews(steward)[0].status == "completed"
    assert "recorded as completed by you" in message_text(slack.state.responses[1])
    assert [a.status for a in answered] == [200, 200]  # the repeated submission is answered, recorded once
    assert slack.message("C0OPS", prompt["ts"])["edited"]
    with Session(steward.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.seq))]
    assert actions.count("review.completed") == 1
    assert actions.count("review.completion_refused") == 1


def test_bad_review_commands_explain_and_change_nothing(operations):
    steward = operations
    steward.runtime.sweep(utc(2026, 2, 5, 9))
    cases = {
        "review done": "The review id is missing.",
        "review done X1": "`X1` is not a review id",
        "review done R99": "There is no review R99",
        "review done R1 " + "n" * 1001: "at most 1000 are allowed",
        "review done R1": f"Only the business owner (<@{OWNER}>) can complete R1",
        "review list nosuch": "There is no initiative `nosuch`",
        "review list churn extra": "Unexpected `extra`",
    }
    for text, expected in cases.items():
        shown = reply_text(steward.command(text, user=PM))
        assert expected in shown, (text, shown)
    assert all_reviews(steward)[0].status == "posted"


def test_review_list_shows_what_is_open(operations):
    steward = operations
    # The first sweep runs on Monday 6 April, when a monthly and the first quarterly review fall due;
    # the February and March monthly reviews were missed (R1, R2) and are not open.
    steward.runtime.sweep(utc(2026, 4, 6, 9))
    shown = reply_text(steward.command("review list churn"))
    assert "Open reviews (2)" in shown
    assert "*R3* Monthly performance review · `churn`" in shown
    assert "*R4* Quarterly retraining assessment" in shown
    assert "R1" not in shown and "R2" not in shown
    assert "Due Mon 06 Apr 2026 10:00 Europe/Berlin" in shown
    assert "No open reviews" in reply_text(steward.command("review list", team_id="T0OTHER"))


def test_after_downtime_only_the_latest_missed_prompt_posts(operations, slack):
    steward = operations
    steward.runtime.sweep(utc(2026, 2, 5, 9))  # R1 posted
    steward.runtime.sweep(utc(2026, 5, 20, 9))  # down from February to late May
    reviews = all_reviews(steward)
    monthly = [r for r in reviews if r.kind == "monthly-performance-review"]
    assert [(r.due_at.date().isoformat(), r.status) for r in monthly] == [
        ("2026-02-05", "skipped"), ("2026-03-05", "skipped"), ("2026-04-06", "skipped"), ("2026-05-05", "posted")]
    assert monthly[0].notes.startswith("superseded")
    assert monthly[1].notes.startswith("missed")
    open_prompts = [r for r in reviews if r.status in ("scheduled", "posted")]
    assert Counter(r.kind for r in open_prompts) == {"monthly-performance-review": 1,
                                                      "quarterly-retraining-assessment": 1}
    # Only one reminder (the latest due) for each open review, not a burst.
    steward.runtime.sweep(utc(2026, 5, 20, 10))
    may = next(m for m in slack.posts("C0OPS") if "R4" in message_text(m) and "thread_ts" not in m)
    assert len([m for m in slack.thread("C0OPS", may["ts"]) if "files" not in m]) == 1


def test_two_sweeps_at_once_post_each_prompt_once(operations, slack):
    steward = operations
    second = build_runtime(steward.settings, engine=make_engine(steward.settings.database_url), migrate=False,
                           with_app=False)
    moments = [utc(2026, 1, 5, 9) + timedelta(days=d) for d in range(0, 200, 3)]
    barrier = threading.Barrier(2)

    def run(runtime):
        # Both sweep the same moment at the same time, as two replicas woken by their timers would.
        for moment in moments:
            barrier.wait()
            runtime.sweep(moment)

    threads = [threading.Thread(target=run, args=(r,)) for r in (steward.runtime, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    second.stop()
    reviews = all_reviews(steward)
    assert [r.number for r in reviews] == list(range(1, len(reviews) + 1))  # no gaps, no duplicates
    prompt_posts = [c for c in slack.calls_to("chat.postMessage") if "Why:" in str(c.args.get("blocks"))]
    # Within 200 days of 5 January: six monthly, two quarterly and one biannual review.
    assert len(prompt_posts) == len(reviews) == 9
    reminders = [c for c in slack.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    assert len(reminders) == len({(c.args["thread_ts"], c.args["text"], str(c.args["blocks"])) for c in reminders})


def test_slack_faults_leave_the_prompt_due_until_it_posts(operations, slack):
    steward = operations
    slack.fail("chat.postMessage", status=503, times=None)  # Slack is down until cleared
    report = steward.runtime.sweep(utc(2026, 2, 5, 9))
    assert (report.prompts, report.sent) == (1, 0) and report.retried >= 1
    [review] = all_reviews(steward)
    assert review.status == "scheduled"
    steward.runtime.sweep(utc(2026, 2, 5, 9, 1))
    assert all_reviews(steward)[0].status == "scheduled"
    slack.clear_faults()
    steward.runtime.sweep(utc(2026, 2, 5, 9, 3))
    assert all_reviews(steward)[0].status == "posted"
    assert len([m for m in slack.posts("C0OPS") if "Why:" in message_text(m)]) == 1


def test_a_prompt_stuck_on_a_missing_channel_is_shown_and_reported_by_healthz_per_channel(steward, slack):
    with freeze_time("2026-01-05 08:00:00"):
        steward.command("initiative create churn Churn stage=operations since=2026-01-05", channel="C0LOST")
    steward.runtime.sweep(utc(2026, 2, 5, 10))
    [review] = all_reviews(steward)
    assert review.status == "scheduled"
    with freeze_time("2026-02-05 10:01:00"):
        shown = reply_text(steward.command("initiative show churn"))
    assert "could not deliver" in shown and "channel_not_found" in shown
    from bot.server import health

    status, body = health(steward.runtime.services, now=utc(2026, 2, 5, 10, 10))
    # A channel Steward is not in needs a person, not a restart: 200, the channel and what it holds in the detail
    # (issue 12, point 2). A stalled message in a usable channel is still 503 (tests/bot/test_membership.py).
    assert status == 200 and body["channels_not_in"][0]["channel"] == "C0LOST"
    assert body["channels_not_in"][0]["held_messages"] >= 1


def test_healthz_degrades_when_no_sweep_runs(operations):
    from bot.server import health

    assert health(operations.runtime.services, now=utc(2026, 2, 5, 9, 4))[0] == 200
    status, body = health(operations.runtime.services, now=utc(2026, 2, 5, 9, 6))
    assert status == 503 and "the sweep is behind" in body["reason"]
    operations.runtime.sweep(utc(2026, 2, 5, 9, 6))
    assert health(operations.runtime.services, now=utc(2026, 2, 5, 9, 7))[0] == 200


def test_readiness_checkins_for_a_new_initiative_mention_owner_and_vacant_pilot_lead(steward, slack):
    with freeze_time("2026-03-02 12:00:00"):  # a Monday
        steward.command("initiative create triage Invoice triage", channel="C0OPS")
        steward.command(f"role assign triage owner <@{OWNER}>")
    steward.runtime.sweep(utc(2026, 3, 9, 10))
    [prompt] = [m for m in slack.posts("C0OPS") if "Weekly readiness check-in" in message_text(m)]
    text = message_text(prompt)
    assert f"business owner: <@{OWNER}>" in text and "pilot lead: *vacant*" in text
    assert "Mon 09 Mar 2026 10:00 UTC" in text


def break_time_zone(steward, key):
    """What a bad manual fix or a restore leaves behind: a zone name no calendar knows, straight in the row."""
    from sqlalchemy import text

    with steward.engine.begin() as connection:
        connection.execute(text("UPDATE initiatives SET timezone = 'Not/AZone' WHERE key = :key"), {"key": key})


def test_an_initiative_with_a_broken_time_zone_stops_no_other_prompt_or_reminder(operations, slack):
    steward = operations
    with freeze_time("2026-01-05 08:00:00"):
        steward.command("initiative create fraud Fraud detector stage=operations since=2026-01-05 "
                        "tz=Europe/Berlin", channel="C0OPS")
    steward.runtime.sweep(utc(2026, 2, 5, 9))
    assert len([m for m in prompts(slack) if "Monthly performance review" in message_text(m)]) == 2
    break_time_zone(steward, "fraud")

    report = steward.runtime.sweep(utc(2026, 2, 9, 9))  # both reviews are due a first reminder
    [churn_prompt] = [m for m in prompts(slack) if "Churn predictor" in message_text(m)]
    assert [m for m in slack.thread("C0OPS", churn_prompt["ts"]) if "has been open 3 days" in message_text(m)]
    assert report.reminders == 1
    [failure] = report.failures
    assert failure.step == "reminders" and "R2" in failure.row and "Not/AZone" in failure.error

    report = steward.runtime.sweep(utc(2026, 3, 5, 9))  # the next month: churn is prompted, fraud reported again
    assert len([m for m in prompts(slack) if "Churn predictor" in message_text(m)]) == 2
    assert report.prompts == 1
    # Fraud's R2 is now overdue too: its escalation is reported like its reminder, and stays due.
    assert {(f.step, f.row.split(" (")[0]) for f in report.failures} == {("reviews", "initiative fraud"),
                                                                         ("reminders", "review R2"),
                                                                         ("overdue_reviews", "review R2")}


def test_a_restart_with_a_broken_time_zone_still_refreshes_the_other_initiatives(operations):
    from bot.services.cadence import refresh_next_due

    steward = operations
    with freeze_time("2026-01-05 08:00:00"):
        steward.command("initiative create fraud Fraud detector stage=operations since=2026-01-05", channel="C0OPS")
    break_time_zone(steward, "fraud")
    with Session(steward.engine) as session:
        for initiative in session.exec(select(Initiative)):
            initiative.cadence_next_at = None
            session.add(initiative)
        session.commit()
    result = refresh_next_due(steward.engine, steward.runtime.services.cadence)
    assert result.done == 1 and [f.row.split(" (")[0] for f in result.failures] == ["initiative fraud"]
    with Session(steward.engine) as session:
        churn = session.exec(select(Initiative).where(Initiative.key == "churn")).one()
    assert churn.cadence_next_at == utc(2026, 2, 5, 9)
