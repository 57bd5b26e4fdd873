"""Cover for an absent role holder: it starts, routes prompts, pages and rights, and ends by itself at its date."""

from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage import audit
from storage.models import AuditEvent, Incident, RoleCover
from tests.harness import message_text, reply_text
from tests.staffing import ALL_ROLES, COVER, DATA, MLOPS, OTHER, OWNER, PM, T0, staff


@pytest.fixture
def staffed(steward):
    return staff(steward, ALL_ROLES)


def command(steward, text, *, user, moment=T0):
    with freeze_time(moment):
        response = steward.command(text, user=user)
    steward.drain(moment)
    return reply_text(response)


def covers(steward) -> list[RoleCover]:
    with Session(steward.engine) as session:
        return list(session.exec(select(RoleCover).order_by(RoleCover.id)))


def channel_texts(slack) -> list[str]:
    return [message_text(m) for m in slack.posts("C0OPS") if "thread_ts" not in m]


def thread_of(slack, number=1) -> list[str]:
    root = next(m for m in slack.posts("C0OPS") if "thread_ts" not in m and f"INC{number}" in m["text"])
    return [message_text(m) for m in slack.thread("C0OPS", root["ts"])]


def test_cover_routes_pages_and_rights_to_the_cover_and_ends_by_itself(staffed, slack):
    reply = command(staffed, f"role cover churn mlops <@{COVER}> until=2026-03-04 parental leave", user=MLOPS)
    assert f"<@{COVER}> covers <@{MLOPS}> as MLOps engineer of churn until Wed 04 Mar 2026" in reply
    notice = channel_texts(slack)[-1]
    assert f"<@{COVER}> covers <@{MLOPS}> as *MLOps engineer* of `churn` until the end of *Wed 04 Mar 2026*" in notice
    assert "(parental leave)" in notice and "Prompts, reminders, pages and the right to complete and sign" in notice

    # A sev1 pages level 1 (the MLOps engineer): the cover is paged, not the absent holder.
    command(staffed, "incident declare churn sev1 Scores are all zero", user=PM, moment=T0 + timedelta(minutes=5))
    page = thread_of(slack)[0]
    assert f"<@{COVER}> (MLOps engineer), please acknowledge INC1" in page and MLOPS not in page
    # The right to act in the role goes with it: the cover may acknowledge; `initiative show` names them.
    shown = command(staffed, "initiative show churn", user=OTHER)
    assert f"MLOps engineer: <@{MLOPS}>, covered by <@{COVER}>" in shown
    command(staffed, "incident ack INC1", user=COVER, moment=T0 + timedelta(minutes=6))
    with Session(staffed.engine) as session:
        assert session.exec(select(Incident)).one().acknowledged_by == COVER

    # The last day is Wed 04 Mar (UTC here): a sweep on it changes nothing, the sweep after it ends the cover.
    staffed.runtime.sweep(datetime(2026, 3, 4, 23, 59, tzinfo=UTC))
    assert covers(staffed)[0].ended_at is None
    staffed.runtime.sweep(datetime(2026, 3, 5, 0, 0, tzinfo=UTC))
    staffed.runtime.sweep(datetime(2026, 3, 5, 0, 1, tzinfo=UTC))  # once only
    [cover] = covers(staffed)
    assert (cover.end_reason, cover.ended_by) == ("expired", "steward")
    ended = [t for t in channel_texts(slack) if "ended after Wed 04 Mar 2026" in t]
    assert len(ended) == 1 and f"<@{MLOPS}> acts in the role again" in ended[0]

    # Back to the holder: the next incident pages them.
    command(staffed, "incident declare churn sev1 Scores are all NaN", user=PM, moment=datetime(2026, 3, 5, 9, 0,
                                                                                                tzinfo=UTC))
    assert f"<@{MLOPS}> (MLOps engineer), please acknowledge INC2" in thread_of(slack, 2)[0]
    shown = command(staffed, "initiative show churn", user=OTHER, moment=datetime(2026, 3, 5, 9, 1, tzinfo=UTC))
    assert f"MLOps engineer: <@{MLOPS}>\n" in shown + "\n" and "covered by" not in shown

    # History and audit are kept, and the chain binds each state of the cover.
    with Session(staffed.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent).order_by(AuditEvent.seq))]
        assert actions.count("role.cover_started") == 1 and actions.count("role.cover_ended") == 1
        assert audit.verify_chain(session=session, team_id="T0LOCAL")[1] is None
        assert audit.verify_bindings(session=session, team_id="T0LOCAL")[1] == []


def test_the_covered_holder_loses_the_rights_meanwhile_and_the_cover_gains_them(staffed, slack):
    command(staffed, f"role cover churn owner <@{COVER}> until=2026-03-20", user=OWNER)
    # The business owner's right to staff the initiative is the cover's now.
    assert "is now <@UOTHER0001>" in command(staffed, f"role assign churn pilot <@{OTHER}>", user=COVER)
    # The holder may still end their own cover (they arranged it), and then acts again.
    assert f"<@{COVER}> no longer covers <@{OWNER}>" in command(staffed, "role cover churn owner end", user=OWNER)
    assert "Only Steward admins and its business owner" in command(staffed, "role unassign churn pilot", user=COVER)
    assert "was ended early by" in channel_texts(slack)[-1]


def test_reassigning_a_covered_role_ends_the_cover_and_says_so(staffed, slack):
    command(staffed, f"role cover churn data <@{COVER}> until=2026-03-20", user=OWNER)
    command(staffed, f"role assign churn data <@{OTHER}>", user=OWNER)
    [cover] = covers(staffed)
    assert cover.end_reason == "reassigned"
    assert any(f"ended: it is now held by <@{OTHER}>" in t for t in channel_texts(slack))
    command(staffed, "incident declare churn sev2 Slow scoring", user=PM)
    assert f"<@{COVER}>" not in " ".join(thread_of(slack))


def test_who_may_arrange_cover_and_bad_input_change_nothing(staffed, slack):
    command(staffed, f"role cover churn pm <@{COVER}> until=2026-03-10", user=PM)
    before, posts = covers(staffed), len(slack.posts("C0OPS"))
    cases = {
        (f"role cover churn data <@{COVER}> until=2026-03-10", OTHER):
            f"Only its holder (<@{DATA}>), the business owner (<@{OWNER}>) or a Steward admin",
        (f"role cover churn data <@{COVER}> until=2026-03-10", COVER): "Only its holder",
        (f"role cover churn pilot <@{COVER}> until=2026-03-10", OWNER): "vacant: there is nobody to cover",
        (f"role cover churn data <@{DATA}> until=2026-03-10", DATA): "a cover is someone else",
        (f"role cover churn data <@{COVER}> until=2026-03-01", DATA): "is over already",
        (f"role cover churn data <@{COVER}> until=2027-06-01", DATA): "at most 366 days",
        (f"role cover churn pm <@{OTHER}> until=2026-03-12", OWNER): f"<@{COVER}> already covers the product manager",
        ("role cover churn data end", DATA): "Nobody covers the data engineer role",
        ("role cover churn data end", OTHER): "Only its holder",
        (f"role cover churn data <@{COVER}>", DATA): "Say until when",
        (f"role cover churn data <@{COVER}> until=next-week", DATA): "`next-week` is not a date",
        (f"role cover churn data <@{COVER}> until=2026-03-10 until=2026-03-11", DATA): "given twice",
        ("role cover churn data dana until=2026-03-10", DATA): "`dana` is not a person",
        ("role cover churn data", DATA): "Say who covers",
        ("role cover churn boss <@UX0000001> until=2026-03-10", DATA): "`boss` is not a role",
        (f"role cover nosuch data <@{COVER}> until=2026-03-10", DATA): "There is no initiative `nosuch`",
        (f"role cover churn data <@{COVER}> until=2026-03-10 " + "x" * 301, DATA): "at most 300 are allowed",
    }
    for (text, user), expected in cases.items():
        assert expected in command(staffed, text, user=user), text
    assert covers(staffed) == before and len(slack.posts("C0OPS")) == posts


def test_an_admin_or_the_cover_ends_it_early_and_the_holder_is_paged_again(staffed, slack):
    command(staffed, f"role cover churn mlops <@{COVER}> until=2026-03-20", user=OWNER)
    assert "no longer covers" in command(staffed, "role cover churn mlops end", user=COVER)
    command(staffed, "incident declare churn sev1 Scores are all zero", user=PM, moment=T0 + timedelta(hours=1))
    assert f"<@{MLOPS}> (MLOps engineer), please acknowledge INC1" in thread_of(slack)[0]
    # A new cover may start once the old one ended, by an admin.
    assert "covers" in command(staffed, f"role cover churn mlops <@{OTHER}> until=2026-03-20", user="UADMIN0001")
    assert [c.cover_id for c in covers(staffed)] == [COVER, OTHER]


def test_the_home_tab_shows_the_covers_a_person_holds_and_has_given(staffed, slack):
    command(staffed, f"role cover churn mlops <@{COVER}> until=2026-03-20 conference", user=MLOPS)
    for user, stamp in ((COVER, "1772460060.000100"), (MLOPS, "1772460061.000100"), (PM, "1772460062.000100")):
        with freeze_time(T0 + timedelta(minutes=1)):
            staffed.sender.event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
                                  "event_ts": stamp})
    staffed.drain(T0 + timedelta(minutes=2))
    views = {call.args["user_id"]: message_text(call.args["view"]) for call in slack.calls_to("views.publish")}
    assert f"You cover <@{MLOPS}> as *MLOps engineer* of `churn` until Fri 20 Mar 2026 (conference)" in views[COVER]
    assert f"<@{COVER}> covers you as *MLOps engineer* of `churn` until Fri 20 Mar 2026" in views[MLOPS]
    assert "Covers" not in views[PM]


def test_cover_is_no_way_around_separation_of_duties(steward):
    from tests.bot.test_evidence_gates import ADMIN as EG_ADMIN
    from tests.bot.test_evidence_gates import OWNER as EG_OWNER
    from tests.bot.test_evidence_gates import Clock, baseline, staff

    clock = Clock(steward, datetime(2027, 1, 4, 11, 0, tzinfo=UTC))
    clock.type("initiative create triage Invoice triage stage=operations since=2026-12-01", user=EG_ADMIN)
    staff(clock, sponsor=EG_OWNER)  # one person is business owner and executive sponsor
    assert "now in force" in baseline(clock)
    clock.weekly_kpis(13)
    # The owner is away: COVER stands in as business owner and approves as such, covering them.
    clock.type(f"role cover triage owner <@{COVER}> until=2027-12-31", user=EG_OWNER)
    assert "Still needed: executive sponsor" in clock.type("signoff triage scope-expansion approve", user=COVER)
    # The owner, as executive sponsor, would be the second approval: the cover counted as them.
    refused = clock.type("signoff triage scope-expansion approve", user=EG_OWNER)
    assert "must be two different people" in refused
    with Session(steward.engine) as session:
        from storage.models import SignOff

        signed = session.exec(select(SignOff).where(SignOff.subject == "scope-expansion")).all()
    assert [(s.signer, s.signer_role) for s in signed] == [(COVER, "business_owner")]
    assert '"covering":["UOWNER0001"]' in signed[0].evidence.replace(" ", "")


def test_review_prompts_and_the_right_to_complete_go_to_the_cover(staffed, slack):
    from storage.models import Review

    command(staffed, f"role cover churn owner <@{COVER}> until=2026-03-31", user=OWNER)
    staffed.runtime.sweep(datetime(2026, 3, 5, 10, 0, tzinfo=UTC))  # the monthly review falls due
    [prompt] = [m for m in slack.posts("C0OPS") if "Monthly performance review" in message_text(m)
                and "thread_ts" not in m]
    assert f"<@{COVER}>" in message_text(prompt) and f"<@{OWNER}>" not in message_text(prompt)
    with Session(staffed.engine) as session:
        review = session.exec(select(Review).where(Review.kind == "monthly-performance-review",
                                                   Review.posted_at.is_not(None))).one()
    moment = datetime(2026, 3, 5, 11, 0, tzinfo=UTC)
    refused = command(staffed, f"review done R{review.number}", user=OWNER, moment=moment)
    command(staffed, f"review done R{review.number} all fine", user=COVER, moment=moment)
    with Session(staffed.engine) as session:
        assert session.get(Review, review.id).completed_by == COVER
    assert f"Only the business owner (<@{COVER}>) can complete R{review.number}" in refused
