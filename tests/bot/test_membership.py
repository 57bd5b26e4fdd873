"""Channel membership is state Steward knows: joined or checked on binding, followed through Slack's events and
send errors, told to the business owner by direct message, and shown in `initiative show`, Home and /healthz."""

from datetime import UTC, datetime, timedelta

from freezegun import freeze_time
from sqlmodel import Session, select

from bot.server import health
from states import ChannelState
from storage.models import Initiative
from tests.harness import message_text, reply_text

OWNER, PM, MLOPS = "UOWNER0001", "UPM0000001", "UMLOPS0001"
BOT = "UBOTSTEWARD"  # the local Slack's bot user (auth.test)
T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def settle(steward, start: datetime, seconds: int = 20) -> None:
    """Drain the outbox second by second, as the due-work thread would (posts are paced per channel)."""
    for second in range(seconds):
        steward.drain(start + timedelta(seconds=second))


def initiative(steward, key: str = "churn") -> Initiative:
    with Session(steward.engine) as session:
        return session.exec(select(Initiative).where(Initiative.key == key)).one()


def create(steward, channel: str, key: str = "churn", owner: str | None = OWNER) -> str:
    with freeze_time(T0):
        shown = reply_text(steward.command(f"initiative create {key} Churn predictor stage=operations "
                                           f"since=2026-01-05", channel=channel))
        if owner:
            steward.command(f"role assign {key} owner <@{owner}>", channel=channel)
    return shown


def dms(slack, user: str) -> list[str]:
    return [message_text(m) for m in slack.posts("D" + user[1:])]


def test_binding_a_public_channel_joins_it_at_once(steward, slack):
    slack.add_channel("C0PUBLIC", "churn", member=False)
    shown = create(steward, "C0PUBLIC")

    assert [c.args["channel"] for c in slack.calls_to("conversations.join")] == ["C0PUBLIC"]
    assert slack.state.channels["C0PUBLIC"]["is_member"]
    assert initiative(steward).channel_state is ChannelState.MEMBER
    assert "not in channel" not in shown and "/invite" not in shown


def test_a_private_channel_without_steward_is_created_but_says_invite_everywhere_until_fixed(steward, slack):
    slack.add_channel("G0SECRET", "secret", private=True, member=False)
    shown = create(steward, "G0SECRET")

    assert "Created *Churn predictor*" in shown  # the initiative exists
    assert "*not in channel*" in shown and "`/invite @Steward`" in shown
    assert slack.calls_to("conversations.join") == []  # a private channel cannot be joined, only checked
    assert initiative(steward).channel_state is ChannelState.NOT_IN_CHANNEL

    settle(steward, T0)  # the notice and the review prompt are refused: held for the channel
    with freeze_time(T0 + timedelta(minutes=1)):
        detail = reply_text(steward.command("initiative show churn", channel="C0OPS"))
        listed = reply_text(steward.command("initiative list", channel="C0OPS"))
        steward.sender.event({"type": "app_home_opened", "user": OWNER, "channel": "D0HOME", "tab": "home",
                              "event_ts": "1772460060.000100"})
    assert "*not in channel*" in detail and "`/invite @Steward`" in detail and "held until then" in detail
    assert "(`churn`) in <#G0SECRET> :warning: *not in channel*" in listed
    settle(steward, T0 + timedelta(minutes=1))
    [home] = slack.calls_to("views.publish")
    assert "not in channel" in str(home.args["view"])

    # An invitation is not the bot's fault: /healthz stays 200 and names the channel and what it holds.
    status, body = health(steward.runtime.services, now=T0 + timedelta(minutes=30))
    assert status == 200, body
    [held] = body["channels_not_in"]
    assert (held["channel"], held["state"], held["initiatives"]) == ("G0SECRET", "not_in_channel", ["churn"])
    assert held["held_messages"] >= 1

    # Someone types /invite @Steward: Slack says so, the held messages go out, the owner hears once.
    slack.state.channels["G0SECRET"]["is_member"] = True
    with freeze_time(T0 + timedelta(minutes=31)):
        steward.sender.event({"type": "member_joined_channel", "user": BOT, "channel": "G0SECRET",
                              "channel_type": "G", "team": "T0LOCAL"})
    assert initiative(steward).channel_state is ChannelState.MEMBER
    settle(steward, T0 + timedelta(minutes=31))
    assert any("started tracking *Churn predictor*" in message_text(m) for m in slack.posts("G0SECRET"))
    assert health(steward.runtime.services, now=T0 + timedelta(minutes=32))[1].get("channels_not_in") is None
    assert any("Steward is back in <#G0SECRET>" in text for text in dms(slack, OWNER))


def test_removal_is_recorded_and_the_owner_told_once_however_often_slack_says_it(steward, slack):
    create(steward, "C0OPS")
    settle(steward, T0)
    removed = {"type": "member_left_channel", "user": BOT, "channel": "C0OPS", "channel_type": "C", "team": "T0LOCAL"}
    with freeze_time(T0 + timedelta(hours=1)):
        first = steward.sender.event(removed, event_id="Ev0REMOVED")
        retried = steward.sender.event(removed, event_id="Ev0REMOVED", retry_num=1)
        # The same news by another event (channel_left goes to the bot itself): nothing new to tell.
        steward.sender.event({"type": "channel_left", "channel": "C0OPS", "actor_id": OWNER})
        # Someone else leaving is not Steward's business.
        steward.sender.event({**removed, "user": PM, "channel": "C0GENERAL"})
    assert first.status == 200 and retried.status == 200
    assert initiative(steward).channel_state is ChannelState.NOT_IN_CHANNEL
    settle(steward, T0 + timedelta(hours=1))
    [told] = dms(slack, OWNER)
    assert "Steward can no longer post in <#C0OPS>" in told and "`churn`" in told
    assert "`/invite @Steward`" in told


def test_archived_then_unarchived_channel_is_rejoined_and_the_owner_told_both_times(steward, slack):
    slack.add_channel("C0ARCH", "arch", member=True)
    create(steward, "C0ARCH")
    with freeze_time(T0 + timedelta(hours=1)):
        slack.state.channels["C0ARCH"].update(archived=True, is_member=False)
        steward.sender.event({"type": "channel_archived", "channel": "C0ARCH", "user": OWNER})
    assert initiative(steward).channel_state is ChannelState.ARCHIVED
    with freeze_time(T0 + timedelta(hours=2)):
        slack.state.channels["C0ARCH"]["archived"] = False
        steward.sender.event({"type": "channel_unarchive", "channel": "C0ARCH", "user": OWNER})
    assert initiative(steward).channel_state is ChannelState.MEMBER
    assert slack.state.channels["C0ARCH"]["is_member"]  # a public channel is joined again
    settle(steward, T0 + timedelta(hours=2))
    told = dms(slack, OWNER)
    assert len(told) == 2 and "it was archived" in told[0] and "Steward is back in <#C0ARCH>" in told[1]


def test_a_send_refused_for_the_channel_is_recorded_like_the_event(steward, slack):
    slack.add_channel("G0PRIV", "priv", private=True, member=True)
    create(steward, "G0PRIV")
    settle(steward, T0)
    assert initiative(steward).channel_state is ChannelState.MEMBER
    slack.state.channels["G0PRIV"]["is_member"] = False  # removed, and the event was missed
    with freeze_time(T0 + timedelta(hours=1)):
        steward.command("incident declare churn sev2 Drift alarm", user=OWNER, channel="G0PRIV")
    settle(steward, T0 + timedelta(hours=1))
    assert initiative(steward).channel_state is ChannelState.NOT_IN_CHANNEL
    steward.drain()  # the outbox's hook queues the direct message at the process's own clock
    told = [text for text in dms(slack, OWNER) if "Steward can no longer post in <#G0PRIV>" in text]
    assert len(told) == 1  # told once; the owner's direct pages for the incident come on their own
    # The incident's pages wait for the channel, not for a healthy process.
    status, body = health(steward.runtime.services, now=T0 + timedelta(hours=2))
    assert status == 200 and body["channels_not_in"][0]["channel"] == "G0PRIV"


def test_a_stalled_message_in_a_usable_channel_still_makes_healthz_503(steward, slack):
    create(steward, "C0OPS")
    slack.fail("chat.postMessage", status=500, times=None)
    settle(steward, T0, seconds=3)
    status, body = health(steward.runtime.services, now=T0 + timedelta(minutes=10))
    assert status == 503 and "overdue" in body["reason"]


def test_automatic_incidents_are_declared_by_steward_not_a_broken_mention():
    from types import SimpleNamespace

    from messages.incidents import declarer, root
    from states import IncidentStatus

    incident = SimpleNamespace(number=1, severity="sev3", kind="performance", title="Exception rate breaches",
                               status=IncidentStatus.OPEN, channel_id="C0OPS", declared_by="steward", declared_at=T0,
                               level_reached=1, acknowledged_by=None, acknowledged_at=None, resolved_by=None,
                               resolved_at=None, resolution=None)
    message = root(incident, SimpleNamespace(key="churn", name="Churn", timezone="UTC"), level_count=3)
    shown = message_text({"text": message.text, "blocks": message.blocks})
    assert "*Declared by*\nSteward" in shown and "<@steward>" not in shown
    assert declarer(OWNER) == f"<@{OWNER}>"


def test_when_slack_cannot_be_asked_the_initiative_is_created_unchecked_without_waiting(steward, slack):
    slack.fail("conversations.info", status=429, retry_after=30)
    shown = create(steward, "C0OPS", owner=None)
    assert "Created *Churn predictor*" in shown and "could not check its membership" in shown
    assert initiative(steward).channel_state is ChannelState.UNCHECKED
    assert len(slack.calls_to("conversations.info")) == 1  # no retry in the request thread
    # The first refused send tells; until then nothing is reported as held.
    assert "channels_not_in" not in health(steward.runtime.services, now=T0)[1]
