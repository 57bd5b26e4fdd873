"""The outbox keeps to Slack's pace without sleeping, and no request thread waits on a rate limit."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, select

from bot.localslack.webapi import LocalSlack, RateLimits
from bot.outbox import OutboxSender
from bot.pacing import Pacer
from bot.slack_port import SlackPort, make_web_client
from storage import outbox
from storage.models import OutboxMessage

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


class SlackClock:
    """The strict local Slack's clock, moved with the outbox's `now` (no test waits for real seconds)."""

    def __init__(self):
        self.at = T0

    def __call__(self) -> float:
        return (self.at - T0).total_seconds()


@pytest.fixture
def clock():
    return SlackClock()


@pytest.fixture
def strict(clock):
    server = LocalSlack(limits=RateLimits(clock=clock, post_burst=3, tier_burst={3: 3, 4: 3})).start()
    yield server
    server.stop()


def sender_for(engine, slack, **pacing) -> OutboxSender:
    client = make_web_client(token=slack.token, base_url=slack.api_url, interactive=False)
    pacing.setdefault("margin", 0)  # a virtual clock has no jitter: slots fall exactly on the second
    return OutboxSender(engine=engine, slack=SlackPort(client), pacer=Pacer(**pacing))


def queue(engine, *, count: int, channels: list[str], at: datetime = T0, method: str = "chat.postMessage",
          prefix: str = "prompt") -> None:
    with Session(engine) as session:
        for n in range(count):
            channel = channels[n % len(channels)]
            outbox.enqueue(session=session, team_id="T0LOCAL", key=f"{prefix}:{n}", channel_id=channel,
                           text=f"Review {n} is due", blocks="[]", purpose="notice", at=at, method=method)
        session.commit()


def statuses(engine) -> list[str]:
    with Session(engine) as session:
        return [r.status for r in session.exec(select(OutboxMessage))]


def drain_until_empty(sender, engine, clock, *, start=T0, limit=timedelta(minutes=10)) -> tuple[timedelta, int]:
    """Drain as the due-work thread does: at each moment something is due, never in between."""
    now, drains = start, 0
    while now - start < limit:
        clock.at = now
        sender.drain(now)
        drains += 1
        with Session(engine) as session:
            following = outbox.next_due_at(session=session)
        if following is None:
            return now - start, drains
        now = max(now, following)
    raise AssertionError("the outbox did not drain")


def test_two_hundred_prompts_across_twenty_channels_drain_at_slacks_pace_with_no_429(database_url, clock, strict):
    from storage.db import make_engine

    engine = make_engine(database_url)
    channels = [f"C0CH{n:03d}" for n in range(20)]
    for channel in channels:
        strict.add_channel(channel, channel.lower())
    queue(engine, count=200, channels=channels)
    sender = sender_for(engine, strict, channel_interval=1.0, channel_burst=3)

    elapsed, _ = drain_until_empty(sender, engine, clock)

    assert strict.limits.limited == []  # not one 429
    assert statuses(engine) == ["sent"] * 200
    assert all(len(strict.posts(c)) == 10 for c in channels)
    # 10 posts per channel, 3 at once then one a second: the limits allow nothing faster than 7 s.
    minimum = timedelta(seconds=7)
    assert minimum <= elapsed <= minimum * 1.2
    posts = sorted(float(c.at) for c in strict.calls_to("chat.postMessage"))
    assert len(posts) == 200  # no call was refused and repeated
    engine.dispose()


def test_a_hot_channel_defers_its_rows_without_calling_slack(database_url, clock, strict):
    from storage.db import make_engine

    engine = make_engine(database_url)
    queue(engine, count=6, channels=["C0GENERAL"])
    sender = sender_for(engine, strict, channel_interval=1.0, channel_burst=2)
    result = sender.drain(T0)
    assert (result.sent, result.deferred) == (2, 4)
    assert len(strict.calls_to("chat.postMessage")) == 2
    with Session(engine) as session:
        moments = sorted(r.next_attempt_at for r in session.exec(select(OutboxMessage))
                         if r.status == "pending")
    # Each waiting row has a moment of its own, one second apart: each is deferred once.
    assert moments == [T0 + timedelta(seconds=s) for s in (1, 2, 3, 4)]
    assert sender.drain(T0 + timedelta(milliseconds=500)).sent == 0
    for second in (1, 2, 3, 4):
        clock.at = T0 + timedelta(seconds=second)
        assert sender.drain(clock.at).sent == 1
    assert strict.limits.limited == []
    engine.dispose()


def test_a_429_that_gets_through_cools_the_channel_for_its_retry_after(database_url, clock, strict):
    from storage.db import make_engine

    engine = make_engine(database_url)
    queue(engine, count=3, channels=["C0GENERAL"])
    strict.fail("chat.postMessage", status=429, retry_after=20)  # another replica used the channel's pace
    sender = sender_for(engine, strict, channel_interval=1.0, channel_burst=3)
    result = sender.drain(T0)
    # The rows behind the refused one wait for the Retry-After without calling Slack.
    assert (result.sent, result.retried, result.deferred) == (0, 1, 2)
    assert len(strict.calls_to("chat.postMessage")) == 1
    with Session(engine) as session:
        assert min(r.next_attempt_at for r in session.exec(select(OutboxMessage))) >= T0 + timedelta(seconds=20)
    elapsed, _ = drain_until_empty(sender, engine, clock)
    assert elapsed >= timedelta(seconds=20)
    assert statuses(engine) == ["sent"] * 3 and len(strict.posts("C0GENERAL")) == 3
    assert strict.limits.limited == []  # the only 429 was the injected one
    engine.dispose()


def test_each_method_keeps_to_its_tier(database_url, clock, strict):
    from storage.db import make_engine

    engine = make_engine(database_url)
    queue(engine, count=5, channels=["C0GENERAL"], prefix="parent")
    sender = sender_for(engine, strict, channel_interval=1.0, channel_burst=3, method_burst=3)
    drain_until_empty(sender, engine, clock)
    later = T0 + timedelta(minutes=1)
    with Session(engine) as session:
        for n in range(5):
            outbox.enqueue(session=session, team_id="T0LOCAL", key=f"edit:{n}", channel_id="C0GENERAL",
                           text="edited", blocks="[]", purpose="notice", at=later, method="chat.update",
                           target_key=f"parent:{n}")
        session.commit()
    clock.at = later
    result = sender.drain(later)
    # chat.update is Tier 3 (50 a minute): 3 at once, then one every 1.2 s.
    assert (result.sent, result.deferred) == (3, 2)
    elapsed, _ = drain_until_empty(sender, engine, clock, start=later)
    assert elapsed == timedelta(seconds=2.4)
    assert strict.limits.limited == []
    engine.dispose()


def test_an_interactive_call_that_is_rate_limited_fails_at_once_instead_of_sleeping(slack):
    client = make_web_client(token=slack.token, base_url=slack.api_url, interactive=True)
    slack.fail("views.open", status=429, retry_after=20)
    started = time.monotonic()
    with pytest.raises(SlackApiError) as refused:
        client.views_open(trigger_id="1.2.3", view={"type": "modal", "title": {"type": "plain_text", "text": "x"},
                                                     "blocks": []})
    assert time.monotonic() - started < 1
    assert refused.value.response["error"] == "ratelimited"
    assert len(slack.calls_to("views.open")) == 1  # no retry in place


def test_look_ups_keep_to_one_history_call_a_minute_for_a_non_marketplace_app(database_url, clock):
    from storage.db import make_engine

    strict = LocalSlack(limits=RateLimits(clock=clock, post_burst=3, history_limited=True)).start()
    try:
        engine = make_engine(database_url)
        queue(engine, count=2, channels=["C0GENERAL"])
        strict.fail("chat.postMessage", drop=True, after=True, times=2)  # both stored, both answers lost
        sender = sender_for(engine, strict, channel_interval=1.0, channel_burst=3,
                            per_minute={"conversations.history": 1, "conversations.replies": 1})
        assert sender.drain(T0).retried == 2
        later = T0 + timedelta(minutes=1)
        clock.at = later
        result = sender.drain(later)
        assert (result.sent, result.deferred) == (1, 1)  # one look-up this minute; the other waits its turn
        elapsed, _ = drain_until_empty(sender, engine, clock, start=later)
        assert elapsed == timedelta(minutes=1)
        assert statuses(engine) == ["sent", "sent"]
        assert len(strict.posts("C0GENERAL")) == 2 and len(strict.calls_to("chat.postMessage")) == 2
        assert len(strict.calls_to("conversations.history")) == 2
        assert strict.limits.limited == []  # never refused
        engine.dispose()
    finally:
        strict.stop()


def test_rows_redeemed_late_go_at_slacks_pace_without_being_pushed_back_again():
    """A drain held up past the reservations: the saved-up rows go as Slack's bucket allows, once each."""
    pacer = Pacer(channel_interval=1.0, channel_burst=3, margin=0)
    slots = {}
    for row in range(1, 8):
        at = pacer.slot(row_id=row, team_id="T", channel="C1", calls=["chat.postMessage"], now=T0)
        if at is None:
            pacer.called(team_id="T", channel="C1", calls=["chat.postMessage"], at=T0)
        slots[row] = at
    assert [slots[row] for row in range(1, 8)] == [None] * 3 + [T0 + timedelta(seconds=s) for s in (1, 2, 3, 4)]
    late = T0 + timedelta(seconds=10)  # the sender was held up for ten seconds
    gone = []
    for row in range(4, 8):
        if pacer.slot(row_id=row, team_id="T", channel="C1", calls=["chat.postMessage"], now=late) is None:
            pacer.called(team_id="T", channel="C1", calls=["chat.postMessage"], at=late)
            gone.append(row)
    # Slack's bucket refilled while nobody called: three go at once, the fourth a second later, not later still.
    assert gone == [4, 5, 6]
    assert pacer.slot(row_id=7, team_id="T", channel="C1", calls=["chat.postMessage"], now=late) == \
        late + timedelta(seconds=1)


def test_calls_that_left_later_than_their_slots_hold_the_next_row_back():
    pacer = Pacer(channel_interval=1.0, channel_burst=1, margin=0)
    assert pacer.slot(row_id=1, team_id="T", channel="C1", calls=["chat.postMessage"], now=T0) is None
    pacer.called(team_id="T", channel="C1", calls=["chat.postMessage"], at=T0 + timedelta(seconds=0.4))
    reserved = pacer.slot(row_id=2, team_id="T", channel="C1", calls=["chat.postMessage"], now=T0)
    assert reserved == T0 + timedelta(seconds=1.4)  # one interval after the call really left, not after its slot
