"""Answers to clicks and form submissions go where they were asked (the action's response_url, no membership
needed); the Home tab leaves the request at once; a retried event repeats nothing."""

import time
from datetime import UTC, datetime, timedelta

from freezegun import freeze_time

from messages.codec import ResolveForm, SignoffForm, attach_reply_url
from tests.harness import message_text

OWNER, PM, MLOPS = "UOWNER0001", "UPM0000001", "UMLOPS0001"
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


class _RealClock:
    """time.monotonic kept in an object, out of freezegun's reach (it patches module attributes only)."""

    def __init__(self):
        self._monotonic = time.monotonic

    def __call__(self) -> float:
        return self._monotonic()


real_clock = _RealClock()


def settle(steward, start: datetime, seconds: int = 20) -> None:
    for second in range(seconds):
        steward.drain(start + timedelta(seconds=second))


def declared_in_public_channel_left_by_steward(steward, slack):
    """An incident whose root is in a public channel; then Steward is no longer a member (the event was missed)."""
    slack.add_channel("C0PUBLIC", "churn", member=False)
    with freeze_time(T0 - timedelta(days=1)):
        steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05",
                        channel="C0PUBLIC")
        for alias, user in (("owner", OWNER), ("pm", PM), ("mlops", MLOPS)):
            steward.command(f"role assign churn {alias} <@{user}>", channel="C0PUBLIC")
    with freeze_time(T0):
        steward.command("incident declare churn sev2 Drift alarm", user=PM, channel="C0PUBLIC")
    settle(steward, T0)
    slack.state.channels["C0PUBLIC"]["is_member"] = False  # chat:write.public still posts; ephemerals would fail
    return next(m for m in slack.posts("C0PUBLIC") if "thread_ts" not in m and "INC1" in m["text"])


def test_acknowledge_answers_through_the_response_url_without_membership(steward, slack):
    root = declared_in_public_channel_left_by_steward(steward, slack)
    with freeze_time(T0 + timedelta(minutes=5)):
        clicked = steward.sender.click(action_id="incident_ack", value="INC1", user=MLOPS, channel="C0PUBLIC",
                                       message=root, block_id="incident_actions")
    assert clicked.status == 200
    settle(steward, T0 + timedelta(minutes=5))
    assert slack.calls_to("chat.postEphemeral") == []
    [answer] = slack.state.responses
    assert answer["response_type"] == "ephemeral" and answer["replace_original"] is False
    assert "You acknowledged INC1 after 5 min" in message_text(answer)


def test_the_resolve_form_carries_the_clicks_response_url_and_answers_through_it(steward, slack):
    root = declared_in_public_channel_left_by_steward(steward, slack)
    with freeze_time(T0 + timedelta(minutes=5)):
        steward.sender.click(action_id="incident_resolve", value="INC1", user=MLOPS, channel="C0PUBLIC",
                             message=root, block_id="incident_actions")
        metadata = slack.calls_to("views.open")[-1].args["view"]["private_metadata"]
        form = ResolveForm.decode(metadata)
        assert form.channel_id == "C0PUBLIC" and form.reply_url.startswith(f"{slack.base_url}/response/")
        submitted = steward.sender.submit_view(
            callback_id="incident_resolve", private_metadata=metadata, user=MLOPS,
            values={"resolution": {"text": {"type": "plain_text_input", "value": "rolled back the model"}}})
    assert submitted.status == 200 and submitted.body in (b"", b"{}")
    settle(steward, T0 + timedelta(minutes=5))
    assert slack.calls_to("chat.postEphemeral") == []
    [answer] = [r for r in slack.state.responses if r["id"] == form.reply_url.rsplit("/", 1)[1]]
    assert "INC1" in message_text(answer)


def test_an_expired_response_url_falls_back_to_an_ephemeral_message(steward, slack):
    root = declared_in_public_channel_left_by_steward(steward, slack)
    slack.state.channels["C0PUBLIC"]["is_member"] = True
    with freeze_time(T0 + timedelta(minutes=5)):
        metadata = attach_reply_url({"private_metadata": "INC1|C0PUBLIC"}, f"{slack.base_url}/expired/R1")
        steward.sender.submit_view(
            callback_id="incident_resolve", private_metadata=metadata["private_metadata"], user=MLOPS,
            values={"resolution": {"text": {"type": "plain_text_input", "value": "rolled back the model"}}})
    settle(steward, T0 + timedelta(minutes=5))
    [ephemeral] = slack.state.ephemerals
    assert ephemeral["user"] == MLOPS and "INC1" in message_text(ephemeral)
    assert root  # the incident was there to resolve


def test_form_metadata_from_an_older_version_still_decodes():
    assert ResolveForm.decode("INC3|C0OPS") == ResolveForm(3, "C0OPS", None)
    signoff = SignoffForm.decode("churn|baseline|C0OPS|https://hooks.slack.com/actions/T1/2/abc")
    assert (signoff.channel_id, signoff.reply_url) == ("C0OPS", "https://hooks.slack.com/actions/T1/2/abc")
    assert SignoffForm.decode("churn|baseline|C0OPS").reply_url is None
    # Only something that looks like a URL is carried.
    assert attach_reply_url({"private_metadata": "INC1|C0OPS"}, "javascript:x|y")["private_metadata"] == "INC1|C0OPS"


def test_home_publishing_leaves_the_request_at_once_even_when_slack_is_rate_limiting(steward, slack):
    slack.fail("views.publish", status=429, retry_after=20)
    opened = {"type": "app_home_opened", "user": OWNER, "channel": "D0HOME", "tab": "home",
              "event_ts": "1772460000.000100"}
    started = time.monotonic()
    first = steward.sender.event(opened, event_id="Ev0HOME")
    again = steward.sender.event(opened, event_id="Ev0HOME", retry_num=1)  # Slack's retry of the same event
    elapsed = time.monotonic() - started
    assert first.status == 200 and again.status == 200
    assert elapsed < 2  # no thread waited for Retry-After
    assert slack.calls_to("views.publish") == []  # nothing was called inside the request
    now = datetime.now(UTC)
    steward.drain(now)  # answered 429: the outbox keeps it for later
    assert len(slack.calls_to("views.publish")) == 1
    steward.drain(now + timedelta(seconds=21))
    published = slack.calls_to("views.publish")
    assert len(published) == 2 and published[-1].args["user_id"] == OWNER  # the retried event queued nothing more
    steward.drain(now + timedelta(minutes=5))
    assert len(slack.calls_to("views.publish")) == 2


def test_a_form_slack_will_not_open_is_told_at_once_not_waited_for(steward, slack):
    root = declared_in_public_channel_left_by_steward(steward, slack)
    slack.fail("views.open", status=429, retry_after=20)
    with freeze_time(T0 + timedelta(minutes=5)):
        started = real_clock()
        clicked = steward.sender.click(action_id="incident_resolve", value="INC1", user=MLOPS, channel="C0PUBLIC",
                                       message=root, block_id="incident_actions")
        elapsed = real_clock() - started
    assert clicked.status == 200 and elapsed < 2  # no thread slept on Retry-After
    assert len(slack.calls_to("views.open")) == 1
    settle(steward, T0 + timedelta(minutes=5))
    [answer] = slack.state.responses
    assert "Slack did not open the form (`ratelimited`)" in message_text(answer)
