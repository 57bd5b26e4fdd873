"""The outbox: faults from Slack never lose a message and never send one twice."""

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from bot.outbox import OutboxSender
from bot.pacing import Pacer
from storage import outbox
from storage.models import OutboxMessage
from tests.harness import message_text, reply_text


def rows(steward) -> list[OutboxMessage]:
    with Session(steward.engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(OutboxMessage.id)))


def create(steward, channel="C0OPS"):
    steward.command("initiative create triage Invoice triage", channel=channel)


def test_rate_limit_waits_for_retry_after_then_posts_once(steward, slack):
    create(steward)
    slack.fail("chat.postMessage", status=429, retry_after=30)
    now = datetime.now(UTC)
    result = steward.drain(now)
    assert (result.sent, result.retried) == (0, 1)
    [row] = rows(steward)
    assert row.status == "pending" and row.last_error == "ratelimited"
    assert row.next_attempt_at >= now + timedelta(seconds=30)

    assert steward.drain(now + timedelta(seconds=10)).sent == 0  # Retry-After honoured
    assert steward.drain(now + timedelta(seconds=31)).sent == 1
    assert len(slack.posts("C0OPS")) == 1
    assert len(slack.calls_to("chat.postMessage")) == 2
    assert steward.drain(now + timedelta(minutes=5)).sent == 0


def test_server_errors_and_dropped_connections_are_retried_with_backoff(steward, slack):
    create(steward)
    slack.fail("chat.postMessage", status=500)
    slack.fail("chat.postMessage", drop=True)
    now = datetime.now(UTC)
    steward.drain(now)
    assert rows(steward)[0].last_error == "internal_error"
    steward.drain(now + timedelta(seconds=6))
    assert rows(steward)[0].last_error.startswith("connection")
    steward.drain(now + timedelta(minutes=1))
    [row] = rows(steward)
    assert row.status == "sent" and row.attempts == 3
    assert len(slack.posts("C0OPS")) == 1


def test_channel_not_found_keeps_the_message_due_and_shows_the_problem(steward, slack):
    create(steward, channel="C0GONE")  # a channel the workspace does not have
    now = datetime.now(UTC)
    steward.drain(now)
    [row] = rows(steward)
    assert row.status == "pending" and row.last_error == "channel_not_found"
    shown = reply_text(steward.command("initiative show triage"))
    assert "Messages Steward could not deliver" in shown and "channel_not_found" in shown

    slack.add_channel("C0GONE", "restored")
    assert steward.drain(now + timedelta(minutes=16)).sent == 1
    assert "could not deliver" not in reply_text(steward.command("initiative show triage"))


def test_not_in_channel_joins_a_public_channel_and_posts(steward, slack):
    slack.add_channel("C0PUBLIC", "public", member=False)
    slack.fail("chat.postMessage", error="not_in_channel", channel="C0PUBLIC")
    create(steward, channel="C0PUBLIC")
    assert steward.drain().sent == 1
    assert slack.calls_to("conversations.join")  # at creation, and again after not_in_channel
    assert len(slack.posts("C0PUBLIC")) == 1


def test_a_private_channel_the_bot_is_not_in_waits_for_an_invitation(steward, slack):
    slack.add_channel("G0PRIVATE", "secret", private=True, member=False)
    create(steward, channel="G0PRIVATE")
    steward.drain()
    # Slack hides a private channel from a bot that is not in it: channel_not_found, not not_in_channel.
    assert rows(steward)[0].last_error == "channel_not_found"
    slack.state.channels["G0PRIVATE"]["is_member"] = True  # someone invited the bot
    assert steward.drain(datetime.now(UTC) + timedelta(minutes=16)).sent == 1


def test_unhealthy_when_a_message_is_more_than_five_minutes_overdue(steward, slack):
    create(steward)
    slack.fail("chat.postMessage", status=500, times=None)  # Slack failing: the bot is stalled
    steward.drain()
    from bot.server import health

    assert health(steward.runtime.services)[0] == 200
    status, body = health(steward.runtime.services, now=datetime.now(UTC) + timedelta(minutes=6))
    assert status == 503
    assert "overdue" in body["reason"] and "internal_error" in body["reason"]


def test_concurrent_drains_send_each_message_once(steward, slack):
    for n in range(6):
        steward.command(f"initiative create item-{n} Item {n}", channel="C0OPS")
    senders = [OutboxSender(engine=steward.engine, slack=steward.runtime.sender.slack, pacer=Pacer(channel_burst=30))
               for _ in range(4)]
    barrier = threading.Barrier(len(senders))

    def run(sender):
        barrier.wait()
        sender.drain()

    threads = [threading.Thread(target=run, args=(s,)) for s in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(slack.posts("C0OPS")) == 6
    assert all(r.status == "sent" and r.attempts == 1 for r in rows(steward))


def test_a_claim_that_outlives_its_lease_is_taken_again(steward, slack):
    create(steward)
    now = datetime.now(UTC)
    with Session(steward.engine) as session:
        [row_id] = outbox.due_ids(session=session, now=now, limit=10)
        claimed, _ = outbox.claim(session=session, message_id=row_id, now=now, lease=timedelta(seconds=60))
        session.commit()
    assert claimed is not None  # this sender "crashed" after claiming, before posting
    assert steward.drain(now + timedelta(seconds=30)).sent == 0
    assert steward.drain(now + timedelta(seconds=61)).sent == 1
    [posted] = slack.posts("C0OPS")
    assert "started tracking" in message_text(posted)


def test_queueing_the_same_key_twice_queues_once(steward):
    create(steward)
    [row] = rows(steward)
    with Session(steward.engine) as session:
        again = outbox.enqueue(session=session, team_id=row.team_id, key=row.key, channel_id=row.channel_id, text="x",
                               blocks="[]", purpose="notice", at=datetime.now(UTC))
        session.commit()
    assert again is False
    assert len(rows(steward)) == 1


def test_a_sender_that_died_after_slack_took_the_post_is_not_posted_again(steward, slack):
    create(steward)
    now = datetime.now(UTC)
    with Session(steward.engine, expire_on_commit=False) as session:
        [row_id] = outbox.due_ids(session=session, now=now, limit=10)
        row, _ = outbox.claim(session=session, message_id=row_id, now=now, lease=timedelta(seconds=60))
        session.commit()
    # The dead sender's post reached Slack, with its outbox key in the metadata, but was never recorded.
    ts = steward.runtime.sender.slack.post_message(
        channel=row.channel_id, text=row.text, blocks=[], metadata={"event_type": "steward_outbox",
                                                                    "event_payload": {"key": row.key}})
    assert steward.drain(now + timedelta(seconds=61)).sent == 1
    assert len(slack.posts("C0OPS")) == 1
    [recorded] = rows(steward)
    assert (recorded.status, recorded.ts) == ("sent", ts)


def test_slack_refusing_connections_for_a_while_loses_nothing(steward, slack):
    from bot.outbox import OutboxSender
    from bot.slack_port import SlackPort, make_web_client

    create(steward)
    # A Slack that refuses connections: nothing listens on this port.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    dead = OutboxSender(engine=steward.engine, slack=SlackPort(make_web_client(
        token=slack.token, base_url=f"http://127.0.0.1:{dead_port}/api/", interactive=False)))
    now = datetime.now(UTC)
    assert dead.drain(now).retried == 1
    [row] = rows(steward)
    assert row.status == "pending" and row.last_error.startswith("connection")
    assert steward.drain(now + timedelta(seconds=10)).sent == 1  # Slack is back
    assert len(slack.posts("C0OPS")) == 1


def test_slack_refusing_a_message_for_good_fails_it_shows_why_and_sends_the_rest(steward, slack):
    create(steward)
    steward.command("initiative create other Other", channel="C0OPS")
    slack.fail("chat.postMessage", error="invalid_blocks")  # the first message only
    now = datetime.now(UTC)
    result = steward.drain(now)
    assert (result.sent, result.failed) == (1, 1)
    refused, sent = rows(steward)
    assert (refused.status, refused.last_error, sent.status) == ("failed", "invalid_blocks", "sent")
    assert steward.drain(now + timedelta(hours=1)).sent == 0  # never retried
    shown = reply_text(steward.command("initiative show triage"))
    assert "Messages Steward could not deliver" in shown and "invalid_blocks" in shown


def test_an_attachment_that_cannot_be_drawn_fails_with_the_reason_and_the_drain_goes_on(steward, slack):
    from messages.charts import ChartError

    create(steward)
    [notice] = rows(steward)

    def broken_chart(session, row):
        raise ChartError("the KPI chart cannot be drawn: OverflowError: cannot convert float infinity to integer")

    with Session(steward.engine) as session:
        for n in range(2):
            outbox.enqueue(session=session, team_id=notice.team_id, key=f"chart:{n}", channel_id="C0OPS", text="chart",
                           blocks="[]", purpose="kpi.chart", method="files.upload", initiative_id=notice.initiative_id,
                           at=datetime.now(UTC))
        session.commit()
    sender = OutboxSender(engine=steward.engine, slack=steward.runtime.sender.slack,
                          attachments={"kpi.chart": broken_chart})
    result = sender.drain()
    assert (result.sent, result.failed) == (1, 2)
    sent, *charts = rows(steward)
    assert sent.status == "sent" and [c.status for c in charts] == ["failed", "failed"]
    assert "could not be rendered: ChartError: the KPI chart cannot be drawn" in charts[0].last_error
    assert sender.drain(datetime.now(UTC) + timedelta(minutes=5)).failed == 0  # not left in sending, not retried
    assert "the KPI chart cannot be drawn" in reply_text(steward.command("initiative show triage"))


def test_a_sender_that_lost_its_claim_cannot_record_over_the_winner(steward, slack):
    create(steward)
    now = datetime.now(UTC)
    with Session(steward.engine, expire_on_commit=False) as session:
        [row_id] = outbox.due_ids(session=session, now=now, limit=10)
        slow, _ = outbox.claim(session=session, message_id=row_id, now=now, lease=timedelta(seconds=60))
        session.commit()
    # The slow sender's lease lapses; another sender takes the message over and posts it.
    assert steward.drain(now + timedelta(seconds=61)).sent == 1
    [winner] = rows(steward)
    with Session(steward.engine) as session:
        lost = outbox.finish(session=session, row=slow, values={"status": "failed", "last_error": "late"})
        session.commit()
    assert lost is False
    [after] = rows(steward)
    assert (after.status, after.ts, after.last_error, after.version) == ("sent", winner.ts, None, winner.version)
    assert len(slack.posts("C0OPS")) == 1


# -- exactly once when the answer is lost ------------------------------------------------------------


def test_a_post_whose_answer_was_lost_is_looked_for_and_not_posted_again(steward, slack):
    create(steward)
    slack.fail("chat.postMessage", drop=True, after=True)  # Slack stores it; the connection drops
    now = datetime.now(UTC)
    assert steward.drain(now).retried == 1
    [row] = rows(steward)
    assert row.status == "pending" and row.unsure_until is not None
    assert len(slack.posts("C0OPS")) == 1
    assert steward.drain(now + timedelta(minutes=1)).sent == 1
    [posted] = slack.posts("C0OPS")
    [recorded] = rows(steward)
    assert (recorded.status, recorded.ts, recorded.unsure_until) == ("sent", posted["ts"], None)
    assert len(slack.calls_to("chat.postMessage")) == 1  # looked, found, never posted again
    [lookup] = slack.calls_to("conversations.history")
    assert float(lookup.args["oldest"]) <= float(posted["ts"])


def test_a_failed_look_up_is_retried_and_never_followed_by_a_blind_post(steward, slack):
    create(steward)
    slack.fail("chat.postMessage", drop=True, after=True)
    now = datetime.now(UTC)
    steward.drain(now)
    slack.fail("conversations.history", status=500)
    steward.drain(now + timedelta(minutes=1))
    [row] = rows(steward)
    assert row.status == "pending" and row.unsure_until and row.last_error == "internal_error"
    assert len(slack.calls_to("chat.postMessage")) == 1  # not posted on the failed look-up
    slack.fail("conversations.history", status=429, retry_after=30)
    steward.drain(now + timedelta(minutes=2))
    assert len(slack.calls_to("chat.postMessage")) == 1  # nor on a rate-limited one
    assert steward.drain(now + timedelta(minutes=3)).sent == 1
    assert len(slack.posts("C0OPS")) == 1 and len(slack.calls_to("chat.postMessage")) == 1


def test_a_lapsed_claim_whose_look_up_fails_looks_again_before_posting(steward, slack):
    create(steward)
    now = datetime.now(UTC)
    with Session(steward.engine, expire_on_commit=False) as session:
        [row_id] = outbox.due_ids(session=session, now=now, limit=10)
        row, _ = outbox.claim(session=session, message_id=row_id, now=now, lease=timedelta(seconds=60))
        session.commit()
    steward.runtime.sender.slack.post_message(channel=row.channel_id, text=row.text, blocks=[], metadata={
        "event_type": "steward_outbox", "event_payload": {"key": row.key}})  # the dead sender's post
    slack.fail("conversations.history", status=503)
    assert steward.drain(now + timedelta(seconds=61)).retried == 1
    assert steward.drain(now + timedelta(minutes=5)).sent == 1
    assert len(slack.posts("C0OPS")) == 1


def test_the_look_up_pages_through_more_than_a_hundred_messages_since_the_first_attempt(steward, slack):
    create(steward)
    slack.fail("chat.postMessage", drop=True, after=True)
    now = datetime.now(UTC)
    steward.drain(now)
    chatter(steward, slack, 250)  # a busy channel while the row waited
    assert steward.drain(now + timedelta(minutes=1)).sent == 1
    assert len([p for p in slack.posts("C0OPS") if "tracking" in message_text(p)]) == 1
    assert len(slack.calls_to("conversations.history")) >= 2  # paged


def test_a_public_channel_the_bot_has_not_joined_is_joined_to_look(steward, slack):
    slack.add_channel("C0PUBLIC", "public", member=False)
    create(steward, channel="C0PUBLIC")
    slack.fail("chat.postMessage", drop=True, after=True)  # chat:write.public: posted without joining
    now = datetime.now(UTC)
    steward.drain(now)
    assert steward.drain(now + timedelta(minutes=1)).sent == 1
    assert len(slack.posts("C0PUBLIC")) == 1
    assert len(slack.calls_to("conversations.join")) == 1


def chatter(steward, slack, count):
    """Other people's messages in #ai-ops, past the local Slack's pace."""
    client = steward.runtime.sender.slack.client
    slack.limits.enabled = False
    for n in range(count):
        client.chat_postMessage(channel="C0OPS", text=f"chatter {n}")
    slack.limits.enabled = True


def test_history_rate_limited_for_a_non_marketplace_app_delays_the_post_but_never_doubles_it(steward, slack):
    minute = [0.0]
    slack.limits.clock = lambda: minute[0] * 60
    slack.limits.history_limited = True  # 1 call a minute, 15 messages a page
    create(steward)
    slack.fail("chat.postMessage", drop=True, after=True)
    now = datetime.now(UTC)
    steward.drain(now)
    chatter(steward, slack, 10)
    slack.state.channels["C0GENERAL"]["is_member"] = True
    steward.runtime.sender.slack.client.conversations_history(channel="C0GENERAL")  # this minute's call is spent
    steward.drain(now + timedelta(seconds=10))
    [row] = rows(steward)
    assert row.status == "pending" and row.unsure_until and row.last_error == "ratelimited"
    assert row.next_attempt_at >= now + timedelta(seconds=70)  # Retry-After: 60
    assert len([p for p in slack.posts("C0OPS") if "tracking" in message_text(p)]) == 1  # not posted blind
    minute[0] = 1
    assert steward.drain(now + timedelta(seconds=71)).sent == 1
    assert len([p for p in slack.posts("C0OPS") if "tracking" in message_text(p)]) == 1


def test_a_refused_connection_is_known_not_sent_and_posts_without_looking(steward, slack):
    import socket

    from bot.slack_port import SlackPort, make_web_client

    create(steward)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    dead = OutboxSender(engine=steward.engine, slack=SlackPort(make_web_client(
        token=slack.token, base_url=f"http://127.0.0.1:{dead_port}/api/", interactive=False)))
    now = datetime.now(UTC)
    dead.drain(now)
    assert rows(steward)[0].unsure_until is None
    assert steward.drain(now + timedelta(seconds=10)).sent == 1
    assert slack.calls_to("conversations.history") == []


# -- chart uploads -----------------------------------------------------------------------------------


def queue_chart(steward, key="chart:1"):
    [notice] = [r for r in rows(steward) if r.method == "chat.postMessage"][:1]
    with Session(steward.engine) as session:
        outbox.enqueue(session=session, team_id=notice.team_id, key=key, channel_id=notice.channel_id, text="chart",
                       blocks="[]", purpose="kpi.chart", method="files.upload", initiative_id=notice.initiative_id,
                       at=datetime.now(UTC))
        session.commit()


def chart_sender(steward):
    return OutboxSender(engine=steward.engine, slack=steward.runtime.sender.slack,
                        attachments={"kpi.chart": lambda session, row: (b"\x89PNG chart", "chart.png", "Chart")})


def test_a_retried_chart_reuses_its_upload_instead_of_leaving_an_orphan(steward, slack):
    create(steward)
    queue_chart(steward)
    sender = chart_sender(steward)
    slack.fail("files.completeUploadExternal", status=500)
    now = datetime.now(UTC)
    sender.drain(now)
    chart = rows(steward)[-1]
    assert chart.status == "pending" and chart.file_id
    assert sender.drain(now + timedelta(minutes=1)).sent == 1
    assert len(slack.calls_to("files.getUploadURLExternal")) == 1  # uploaded once
    assert list(slack.state.files) == [chart.file_id]
    assert slack.state.files[chart.file_id]["channel"] == "C0OPS"
    assert rows(steward)[-1].ts == chart.file_id


def test_a_chart_that_can_never_be_shared_fails_with_the_reason_and_its_upload_is_deleted(steward, slack):
    create(steward)
    queue_chart(steward)
    sender = chart_sender(steward)
    slack.fail("files.completeUploadExternal", error="invalid_channel")
    sender.drain()
    chart = rows(steward)[-1]
    assert chart.status == "failed" and chart.last_error == "invalid_channel"
    assert len(slack.calls_to("files.delete")) == 1 and slack.state.files == {}


def test_a_chart_for_a_channel_that_needs_a_person_is_retried_a_few_times_then_given_up(steward, slack):
    create(steward)
    queue_chart(steward)
    sender = chart_sender(steward)
    slack.fail("files.completeUploadExternal", error="not_in_channel", times=None)
    now = datetime.now(UTC)
    for hour in range(6):
        sender.drain(now + timedelta(hours=hour))
    chart = rows(steward)[-1]
    assert chart.status == "failed" and chart.last_error.startswith("not_in_channel (gave up after 4 attempts)")
    assert len(slack.calls_to("files.getUploadURLExternal")) == 1
    assert slack.state.files == {}  # the upload was deleted, not left orphaned


def test_an_upload_that_cannot_be_deleted_says_so(steward, slack):
    create(steward)
    queue_chart(steward)
    sender = chart_sender(steward)
    slack.fail("files.completeUploadExternal", error="invalid_channel")
    slack.fail("files.delete", error="cant_delete_file")
    sender.drain()
    chart = rows(steward)[-1]
    assert chart.status == "failed"
    assert "could not be deleted (cant_delete_file)" in chart.last_error


def test_channel_trouble_is_reported_through_the_hook(steward, slack):
    seen = []
    create(steward, channel="C0GONE")
    sender = OutboxSender(engine=steward.engine, slack=steward.runtime.sender.slack,
                          on_channel_trouble=lambda team, channel, error: seen.append((team, channel, error)))
    sender.drain()
    assert seen == [("T0LOCAL", "C0GONE", "channel_not_found")]


def test_many_channels_are_sent_side_by_side_yet_each_channel_keeps_its_order(steward, slack):
    channels = [f"C0SIDE{n:03d}" for n in range(12)]
    for channel in channels:
        slack.add_channel(channel, channel.lower())
    now = datetime.now(UTC)
    with Session(steward.engine) as session:
        for n in range(60):
            outbox.enqueue(session=session, team_id="T0LOCAL", key=f"side:{n}", channel_id=channels[n % 12],
                           text=f"message {n}", blocks="[]", purpose="notice", at=now)
        session.commit()
    sender = steward.runtime.sender
    assert sender.concurrency > 1
    result = steward.drain(now)
    assert (result.sent, result.retried, result.failed) == (60, 0, 0)
    for index, channel in enumerate(channels):
        assert [m["text"] for m in slack.posts(channel)] == [f"message {n}" for n in range(index, 60, 12)]
    assert steward.drain(now + timedelta(minutes=1)).sent == 0  # each exactly once


def test_sent_messages_whose_recording_fails_are_found_in_slack_and_never_posted_twice(steward, slack):
    channels = [f"C0LOST{n}" for n in range(3)]
    now = datetime.now(UTC)
    with Session(steward.engine) as session:
        for n, channel in enumerate(channels):
            slack.add_channel(channel, channel.lower())
            outbox.enqueue(session=session, team_id="T0LOCAL", key=f"lost:{n}", channel_id=channel,
                           text=f"message {n}", blocks="[]", purpose="notice", at=now)
        session.commit()
    broken = {"lost:1"}

    def record(session, row, ts, at):  # recording one sent message fails for a while, as a bug in a hook would
        if row.key in broken:
            raise RuntimeError("the hook failed")

    sender = OutboxSender(engine=steward.engine, slack=steward.runtime.sender.slack, on_sent={"notice": record})
    sender.drain(now)
    assert [len(slack.posts(c)) for c in channels] == [1, 1, 1]  # Slack took all three...
    # ...the other two were recorded with it: one failure does not strand the batch.
    assert [r.status for r in rows(steward)] == ["sent", "sending", "sent"]
    broken.clear()

    assert sender.drain(now + timedelta(seconds=30)).sent == 0  # its claim holds for its lease
    assert sender.drain(now + timedelta(seconds=61)).sent == 1  # then it is looked for in Slack, and found
    assert [len(slack.posts(c)) for c in channels] == [1, 1, 1]
    assert [(r.status, r.ts) for r in rows(steward)] == [("sent", slack.posts(c)[0]["ts"]) for c in channels]


def test_a_reply_queued_with_its_parent_goes_in_the_same_drain_into_the_thread(steward, slack):
    now = datetime.now(UTC)
    with Session(steward.engine) as session:
        outbox.enqueue(session=session, team_id="T0LOCAL", key="root", channel_id="C0OPS", text="root",
                       blocks="[]", purpose="notice", at=now)
        outbox.enqueue(session=session, team_id="T0LOCAL", key="reply", channel_id="C0OPS", text="reply",
                       blocks="[]", purpose="notice", at=now, thread_key="root")
        slack.add_channel("C0OTHER", "other")  # a second channel: the batch goes side by side
        outbox.enqueue(session=session, team_id="T0LOCAL", key="other", channel_id="C0OTHER", text="other",
                       blocks="[]", purpose="notice", at=now)
        session.commit()
    result = steward.drain(now)
    assert (result.sent, result.retried) == (3, 0)  # the reply did not wait for its parent to be recorded
    root = slack.posts("C0OPS")[0]
    assert [m["text"] for m in slack.thread("C0OPS", root["ts"])] == ["reply"]


def test_a_claim_taken_over_during_a_batch_is_not_recorded_over_and_the_others_are(steward, slack):
    now = datetime.now(UTC)
    with Session(steward.engine) as session:
        for n, channel in enumerate(["C0OPS", "C0GENERAL"]):
            outbox.enqueue(session=session, team_id="T0LOCAL", key=f"race:{n}", channel_id=channel,
                           text=f"message {n}", blocks="[]", purpose="notice", at=now)
        session.commit()

    def taken_over(session, row):  # while this sender works, another one takes race:1 over and records it
        if row.key == "race:0":
            with Session(steward.engine) as other:
                other.exec(update(OutboxMessage).where(OutboxMessage.key == "race:1")
                           .values(status="sent", ts="1.000001", version=OutboxMessage.version + 5))
                other.commit()
        return True

    recorded = []  # what this sender's hook saw through: only the sends it still owned
    sender = OutboxSender(engine=steward.engine, slack=steward.runtime.sender.slack,
                          still_wanted={"notice": taken_over}, concurrency=1,
                          on_sent={"notice": lambda session, row, ts, at: recorded.append(row.key)})
    sender.drain(now)
    assert recorded == ["race:0"]
    first, second = rows(steward)
    assert (first.status, first.ts) == ("sent", slack.posts("C0OPS")[0]["ts"])
    assert (second.status, second.ts) == ("sent", "1.000001")  # the winner's record stands
