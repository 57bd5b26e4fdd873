"""Business value (issue 17 point 7): `/steward value` records the commitment the readiness gate needs; the monthly
review's first question asks whether it is delivered; two "no" in a row log a deviation and tell the owner and
the sponsor."""

from datetime import UTC, datetime

from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import AuditEvent, BusinessValue, Deviation, Review
from tests.bot.test_review_answers import (
    OWNER,
    PM,
    SPONSOR,
    as_view,
    click_done,
    monthly_values,
    opened_form,
    staff,
    submit,
)
from tests.harness import message_text, reply_text


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def values(steward):
    with Session(steward.engine) as session:
        return list(session.exec(select(BusinessValue).order_by(BusinessValue.id)))


def deviations(steward):
    with Session(steward.engine) as session:
        return list(session.exec(select(Deviation)))


def test_bad_value_commands_explain_and_change_nothing(steward):
    with freeze_time("2026-01-05 08:00:00"):
        steward.command("initiative create churn Churn predictor", channel="C0OPS")
        staff(steward, "churn")
        cases = {
            "value": "The initiative key is missing.",
            "value Churn! faster": "is not a valid initiative key",
            "value churn": "Say the business value committed to and its target",
            "value churn faster": "Say the business value committed to and its target",
            "value nosuch Cut handling time by 30%": "There is no initiative `nosuch`",
            "value churn " + "x" * 1001: "at most 1000 are allowed",
        }
        for text, expected in cases.items():
            shown = reply_text(steward.command(text, user=OWNER))
            assert expected in shown, (text, shown)
        refused = reply_text(steward.command("value churn Cut handling time by 30% in 6 months", user=PM))
        assert "Only the business owner of `churn` or a Steward admin" in refused
    assert values(steward) == []
    with Session(steward.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert [a for a in actions if a.startswith("value.")] == ["value.refused"]


def test_the_readiness_gate_needs_the_committed_value_and_names_the_command(steward, slack):
    with freeze_time("2026-01-05 08:00:00"):
        steward.command("initiative create triage Invoice triage", channel="C0OPS")
        staff(steward, "triage")
        shown = reply_text(steward.command("initiative advance triage"))
        assert (":x: Committed business value and target recorded — "
                "`/steward value triage <committed value and target...>`") in shown
        said = reply_text(steward.command("value triage Cut invoice handling time by 30% within 6 months",
                                          user=OWNER))
        assert "committed business value of `triage` is recorded" in said
        shown = reply_text(steward.command("initiative advance triage"))
        assert ":white_check_mark: Committed business value and target recorded" in shown
        again = reply_text(steward.command("value triage Cut invoice handling time by 40% within 9 months"))
        assert "replaces the earlier commitment" in again
    steward.drain()
    assert [v.commitment for v in values(steward)] == ["Cut invoice handling time by 30% within 6 months",
                                                       "Cut invoice handling time by 40% within 9 months"]
    assert any("recorded the business value `triage` commits to deliver" in message_text(m)
               for m in slack.posts("C0OPS"))


def answer_monthly(steward, slack, number, when, choice, evidence):
    with freeze_time(when):
        click_done(steward, slack, OWNER, number)
        response = submit(steward, as_view(opened_form(slack)), monthly_values(choice, evidence))
        assert response.status == 200 and not response.body.strip(b"{}"), response.body
        steward.drain()


def test_two_monthly_no_in_a_row_log_a_deviation_and_tell_the_owner_and_sponsor(steward, slack):
    with freeze_time("2026-01-05 08:00:00"):
        steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05", channel="C0OPS")
        staff(steward, "churn")
        steward.command("value churn Cut churn-handling time by 30% within 6 months", user=OWNER)
    steward.drain(utc(2026, 1, 5, 8))

    steward.runtime.sweep(utc(2026, 2, 5, 11))
    answer_monthly(steward, slack, 1, "2026-02-05 15:00:00", "no", "Handling time flat at 0%")
    steward.runtime.sweep(utc(2026, 3, 5, 11))
    answer_monthly(steward, slack, 2, "2026-03-05 15:00:00", "partly", "Down 10%")
    assert deviations(steward) == []  # no, partly: not two in a row

    steward.runtime.sweep(utc(2026, 4, 6, 11))
    first_no = open_monthly(steward)
    answer_monthly(steward, slack, first_no, "2026-04-06 15:00:00", "no", "Down 9%: the volume doubled")
    assert deviations(steward) == []
    steward.runtime.sweep(utc(2026, 5, 5, 11))
    number = open_monthly(steward)
    answer_monthly(steward, slack, number, "2026-05-05 15:00:00", "no", "Down 8%; agents bypass the tool")
    said = message_text(slack.state.responses[-1])
    assert "second monthly review in a row saying the committed value is not delivered" in said

    [deviation] = deviations(steward)
    assert f"R{first_no} and R{number} in a row answered \"no\"" in deviation.text
    assert "Cut churn-handling time by 30% within 6 months" in deviation.text
    [notice] = [m for m in slack.posts("C0OPS") if "Committed value not delivered" in message_text(m)]
    text = message_text(notice)
    assert f"<@{OWNER}> (business owner)" in text and f"<@{SPONSOR}> (executive sponsor)" in text
    assert "agents bypass the tool" in text and "the volume doubled" in text
    assert "thread_ts" not in notice  # in the channel, not buried in a review's thread
    with Session(steward.engine) as session:
        logged = [e for e in session.exec(select(AuditEvent)) if e.action == "deviation.logged"]
    assert len(logged) == 1
    shown = reply_text(steward.command(f"review show R{number}"))
    assert "*no* — Down 8%; agents bypass the tool" in shown


def open_monthly(steward):
    with Session(steward.engine) as session:
        return session.exec(select(Review.number).where(Review.kind == "monthly-performance-review",
                                                        Review.status == "posted")).one()


def test_a_missed_monthly_review_breaks_the_row(steward, slack):
    with freeze_time("2026-01-05 08:00:00"):
        steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05", channel="C0OPS")
        staff(steward, "churn")
    steward.drain(utc(2026, 1, 5, 8))
    steward.runtime.sweep(utc(2026, 2, 5, 11))
    answer_monthly(steward, slack, open_monthly(steward), "2026-02-05 15:00:00", "no", "Flat")
    steward.runtime.sweep(utc(2026, 3, 5, 11))  # left open: the next monthly review supersedes it
    steward.runtime.sweep(utc(2026, 4, 6, 11))
    answer_monthly(steward, slack, open_monthly(steward), "2026-04-06 15:00:00", "no", "Still flat")
    assert deviations(steward) == []
    assert not any("Committed value not delivered" in message_text(m) for m in slack.posts("C0OPS"))
