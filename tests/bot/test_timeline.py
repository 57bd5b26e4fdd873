"""Thread replies are part of the incident: kept on its timeline, and a role holder's reply is a status update."""

import json

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import IncidentTimelineEntry
from tests.harness import message_text, reply_text
from tests.staffing import ALL_ROLES, COVER, DATA, MLOPS, OTHER, PM, T0, at, staff

BOT = "UBOTSTEWARD"


def ts(minutes: float) -> str:
    return f"{at(minutes).timestamp():.6f}"


@pytest.fixture
def acknowledged(steward, slack):
    """A sev1 on a staffed initiative, acknowledged at +5: status requests fall due every 30 minutes from then."""
    staff(steward, ALL_ROLES, drain=False)
    with freeze_time(T0):
        steward.command("incident declare churn sev1 Scores are all zero", user=PM)
    steward.drain(T0)
    with freeze_time(at(5)):
        steward.command("incident ack INC1", user=MLOPS)
    steward.drain(at(5))
    return steward


def root_ts(slack) -> str:
    return next(m for m in slack.posts("C0OPS") if "thread_ts" not in m and "INC1" in m["text"])["ts"]


def reply(steward, slack, *, user, minutes, text="Rolled back the model; scores look sane again", **extra):
    event = {"type": "message", "channel": "C0OPS", "channel_type": "channel", "user": user, "text": text,
             "ts": ts(minutes), "event_ts": ts(minutes), "thread_ts": root_ts(slack), **extra}
    with freeze_time(at(minutes)):
        response = steward.sender.event(event)
    assert response.status == 200
    return event


def requests(slack) -> list[str]:
    return [message_text(m) for m in slack.thread("C0OPS", root_ts(slack)) if "status update" in message_text(m)]


def entries(steward) -> list[IncidentTimelineEntry]:
    with Session(steward.engine) as session:
        return list(session.exec(select(IncidentTimelineEntry).order_by(IncidentTimelineEntry.id)))


def test_a_role_holders_reply_is_a_status_update_and_the_next_request_waits_a_full_interval(acknowledged, slack):
    # Without the reply, the first request falls due at +35 (30 minutes after the acknowledgement).
    reply(acknowledged, slack, user=DATA, minutes=20)
    for minutes in (21, 35, 36, 49):
        acknowledged.runtime.sweep(at(minutes))
    assert requests(slack) == []
    acknowledged.runtime.sweep(at(50))  # 30 minutes after the reply
    acknowledged.runtime.sweep(at(51))
    assert len(requests(slack)) == 1
    # Another reply after that request starts the count again.
    reply(acknowledged, slack, user=MLOPS, minutes=60, text="Root cause: a stale feature table")
    acknowledged.runtime.sweep(at(80))
    assert len(requests(slack)) == 1
    acknowledged.runtime.sweep(at(90))
    assert len(requests(slack)) == 2
    [first, second] = [e for e in entries(acknowledged) if e.kind == "reply"]
    assert (first.actor, first.at, second.actor, second.at) == (DATA, at(20), MLOPS, at(60))


def test_a_reply_from_someone_without_a_role_is_kept_but_is_no_status_update(acknowledged, slack):
    reply(acknowledged, slack, user=OTHER, minutes=20, text="Any news?")
    acknowledged.runtime.sweep(at(35))
    assert len(requests(slack)) == 1
    [entry] = [e for e in entries(acknowledged) if e.kind == "reply"]
    assert (entry.actor, entry.text) == (OTHER, "Any news?")


def test_the_person_covering_a_role_updates_status_for_it(acknowledged, slack):
    with freeze_time(at(6)):
        acknowledged.command(f"role cover churn data <@{COVER}> until=2026-03-20", user=DATA)
    reply(acknowledged, slack, user=COVER, minutes=20)
    acknowledged.runtime.sweep(at(35))
    assert requests(slack) == []


def test_edits_and_deletions_are_recorded_and_steward_and_non_replies_are_not(acknowledged, slack):
    original = reply(acknowledged, slack, user=DATA, minutes=10, text="Looking into it")
    edited = {**original, "text": "Looking into it: the feature store", "edited": {"user": DATA, "ts": ts(11)}}
    with freeze_time(at(11)):
        acknowledged.sender.event({"type": "message", "subtype": "message_changed", "hidden": True,
                                   "channel": "C0OPS", "ts": ts(11), "event_ts": ts(11), "message": edited,
                                   "previous_message": original})
        # An unfurl changes the message but not its words: not an edit.
        acknowledged.sender.event({"type": "message", "subtype": "message_changed", "hidden": True,
                                   "channel": "C0OPS", "ts": ts(11.5), "event_ts": ts(11.5),
                                   "message": {**edited, "attachments": [{"title": "x"}]}, "previous_message": edited})
    with freeze_time(at(12)):
        acknowledged.sender.event({"type": "message", "subtype": "message_deleted", "hidden": True,
                                   "channel": "C0OPS", "ts": ts(12), "event_ts": ts(12), "deleted_ts": original["ts"],
                                   "previous_message": edited})
    # Not replies of the team: Steward's own message, another app's, a join, a message outside any thread,
    # a reply in a thread that is not an incident's.
    reply(acknowledged, slack, user=BOT, minutes=13, bot_id="BSTEWARD", text="Steward talking")
    reply(acknowledged, slack, user="UAPP000001", minutes=13.5, bot_id="BOTHER0001", subtype="bot_message")
    reply(acknowledged, slack, user=OTHER, minutes=14, subtype="channel_join", text="joined")
    with freeze_time(at(15)):
        acknowledged.sender.event({"type": "message", "channel": "C0OPS", "user": DATA, "text": "lunch?",
                                   "ts": ts(15), "event_ts": ts(15)})
        acknowledged.sender.event({"type": "message", "channel": "C0OPS", "user": DATA, "text": "other thread",
                                   "ts": ts(15.5), "event_ts": ts(15.5), "thread_ts": ts(1)})
    # A retried delivery of the same reply (a new event id) is kept once.
    reply(acknowledged, slack, user=DATA, minutes=10, text="Looking into it")

    kept = [(e.kind, e.actor, e.at, e.text) for e in entries(acknowledged) if e.kind.startswith("reply")]
    assert kept == [("reply", DATA, at(10), "Looking into it"),
                    ("reply_edited", DATA, at(11), "Looking into it: the feature store"),
                    ("reply_deleted", DATA, at(12), None)]


def test_incident_show_shows_the_timeline_with_who_and_when(acknowledged, slack):
    reply(acknowledged, slack, user=DATA, minutes=20, text="Rolled back <https://ci/x|the deploy> &amp; *checked*")
    reply(acknowledged, slack, user=OTHER, minutes=20.5, text="<!channel> <@UPM0000001> look")
    with freeze_time(at(21)):
        shown = reply_text(acknowledged.command("incident show INC1", user=OTHER))
    assert "INC1 · sev1 · acknowledged · churn" in shown and "Scores are all zero" in shown
    assert f"<@{OTHER}> replied: @channel <@{PM}> look" in shown and "<!channel>" not in shown
    assert f"02 Mar 14:20 UTC <@{DATA}> replied: Rolled back the deploy (https://ci/x) & *checked*" in shown
    for bad in ("incident show", "incident show INC99", "incident show bogus", "incident show INC1 extra"):
        with freeze_time(at(22)):
            text = reply_text(acknowledged.command(bad, user=OTHER))
        assert ("missing" in text or "no incident INC99" in text or "not an incident id" in text
                or "Unexpected" in text), bad


def test_audit_export_includes_the_timeline(acknowledged, slack, tmp_path):
    from bot.audit_check import export_timeline

    reply(acknowledged, slack, user=DATA, minutes=20, text="Rolled back")
    with Session(acknowledged.engine) as session:
        exported = export_timeline(session=session, team_id="T0LOCAL")
    assert any(row["incident"] == "INC1" and row["kind"] == "reply" and row["actor"] == DATA
               and row["at"].startswith("2026-03-02T14:20") for row in exported)
    json.dumps(exported)


def test_steward_audit_export_writes_the_timeline_after_the_chain(acknowledged, slack):
    import csv
    import io

    from bot.audit_check import export_rows

    reply(acknowledged, slack, user=DATA, minutes=20, text="Rolled back, \"quoted\", done")
    for fmt in ("csv", "jsonl"):
        stream = io.StringIO()
        count = export_rows(acknowledged.engine, stream, format=fmt)
        if fmt == "csv":
            rows = list(csv.DictReader(io.StringIO(stream.getvalue())))
            payloads = [json.loads(r["payload"]) for r in rows]
        else:
            rows = [json.loads(line) for line in stream.getvalue().splitlines()]
            payloads = [r["payload"] for r in rows]
        assert count == len(rows)
        timeline_rows = [(r["action"], r["actor"], r["target"]) for r in rows if r["action"].startswith("timeline.")]
        assert ("timeline.reply", DATA, "INC1") in timeline_rows
        assert ("timeline.acknowledged", MLOPS, "INC1") in timeline_rows
        assert any(p.get("text") == "Rolled back, \"quoted\", done" for p in payloads)
        assert rows[-1]["action"].startswith("timeline.")  # after the chain's events
