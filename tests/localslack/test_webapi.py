"""The local Slack answers rate limits as Slack does: 429, `error: ratelimited`, `Retry-After`."""

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.localslack.webapi import LocalSlack, RateLimits


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock():
    return Clock()


def strict_slack(clock, **options):
    return LocalSlack(limits=RateLimits(clock=clock, **options)).start()


def client_for(slack):
    return WebClient(token=slack.token, base_url=slack.api_url, retry_handlers=[])


def test_posts_beyond_a_short_burst_are_refused_per_channel_with_retry_after(clock):
    slack = strict_slack(clock, post_burst=3)
    slack.add_channel("C0OPS", "ai-ops")
    client = client_for(slack)
    try:
        for n in range(3):
            client.chat_postMessage(channel="C0OPS", text=f"burst {n}")
        with pytest.raises(SlackApiError) as refused:
            client.chat_postMessage(channel="C0OPS", text="one too many")
        assert refused.value.response.status_code == 429
        assert refused.value.response["error"] == "ratelimited"
        assert refused.value.response.headers["Retry-After"] == "1"
        client.chat_postMessage(channel="C0GENERAL", text="another channel has its own pace")
        clock.now += 1.0
        client.chat_postMessage(channel="C0OPS", text="a second later")
        with pytest.raises(SlackApiError):
            client.chat_postMessage(channel="C0OPS", text="but only one")
        assert len(slack.posts("C0OPS")) == 4  # a refused post is not stored
        assert slack.limits.limited == [("chat.postMessage", "C0OPS")] * 2
    finally:
        slack.stop()


def test_methods_are_limited_by_their_tier_per_workspace(clock):
    slack = strict_slack(clock, tier_burst={3: 2, 4: 2})
    client = client_for(slack)
    try:
        ts = client.chat_postMessage(channel="C0GENERAL", text="x")["ts"]
        client.chat_update(channel="C0GENERAL", ts=ts, text="y")
        client.chat_update(channel="C0GENERAL", ts=ts, text="z")
        with pytest.raises(SlackApiError) as refused:
            client.chat_update(channel="C0GENERAL", ts=ts, text="too fast")
        # Tier 3 is 50 a minute: the next token is 1.2 s away, announced in whole seconds.
        assert refused.value.response.headers["Retry-After"] == "2"
        client.views_publish(user_id="U1", view={"type": "home", "blocks": []})  # Tier 4 is a bucket of its own
        clock.now += 1.2
        client.chat_update(channel="C0GENERAL", ts=ts, text="in time")
    finally:
        slack.stop()


def test_history_for_a_non_marketplace_app_is_one_call_a_minute_of_fifteen_messages(clock):
    slack = strict_slack(clock, history_limited=True, post_burst=100)
    client = client_for(slack)
    try:
        for n in range(20):
            client.chat_postMessage(channel="C0GENERAL", text=f"m{n}")
        page = client.conversations_history(channel="C0GENERAL", limit=200)
        assert len(page["messages"]) == 15 and page["has_more"]
        with pytest.raises(SlackApiError) as refused:
            client.conversations_history(channel="C0GENERAL", cursor=page["response_metadata"]["next_cursor"])
        assert refused.value.response.status_code == 429
        assert int(refused.value.response.headers["Retry-After"]) == 60
        clock.now += 60
        assert len(client.conversations_history(channel="C0GENERAL",
                                                cursor=page["response_metadata"]["next_cursor"])["messages"]) == 5
    finally:
        slack.stop()


def test_the_default_burst_lets_ordinary_tests_post_without_waiting(slack):
    client = client_for(slack)
    for n in range(20):
        client.chat_postMessage(channel="C0OPS", text=f"m{n}")
    assert slack.limits.limited == []


def test_the_default_clock_is_real_even_under_freezegun():
    from freezegun import freeze_time

    with freeze_time("2026-01-05 10:00:00"):
        limits = RateLimits()
        first = limits.clock()
        while limits.clock() == first:  # a frozen clock would never move on
            pass


def test_a_connection_can_drop_after_slack_stored_the_message(slack):
    client = client_for(slack)
    slack.fail("chat.postMessage", drop=True, after=True)
    with pytest.raises(Exception):  # noqa: B017 (the client sees a broken connection, whatever its type)
        client.chat_postMessage(channel="C0OPS", text="did it arrive?")
    assert [m["text"] for m in slack.posts("C0OPS")] == ["did it arrive?"]
    slack.fail("chat.postMessage", drop=True)  # before: nothing stored
    with pytest.raises(Exception):  # noqa: B017
        client.chat_postMessage(channel="C0OPS", text="lost on the way")
    assert len(slack.posts("C0OPS")) == 1
