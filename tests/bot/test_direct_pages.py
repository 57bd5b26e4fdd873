"""Direct pages (issue 15 point 1): each page reaches the paged person in a direct message, with the thread's
buttons, updated in place when anyone acknowledges or resolves; people choose thread-only per severity; the
holder is looked up when the page is sent."""


import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import IncidentPage, OutboxMessage
from tests.harness import message_text, reply_text
from tests.staffing import CORE_ROLES, DATA, MLOPS, OTHER, OWNER, PM, at, root, staff, thread_texts


@pytest.fixture
def staffed(steward):
    return staff(steward, CORE_ROLES)


def declare(steward, severity="sev1", minutes=0, drain=True):
    with freeze_time(at(minutes)):
        response = steward.command(f"incident declare churn {severity} Scores are all zero", user=PM)
    if drain:
        steward.drain(at(minutes))
    return response


def dms(slack, user):
    return slack.posts("D" + user[1:])


def buttons(message):
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_a_page_reaches_the_person_in_a_direct_message_with_the_thread_and_its_buttons(staffed, slack):
    declare(staffed)
    [opened] = slack.calls_to("conversations.open")
    assert opened.args["users"] == MLOPS
    [dm] = dms(slack, MLOPS)
    text = message_text(dm)
    assert "INC1 · SEV1 · Scores are all zero" in text
    assert "escalation level 1 as the MLOps engineer" in text
    first = root(slack)
    assert f"https://slack.com/archives/C0OPS/p{first['ts'].replace('.', '')}" in text
    assert buttons(dm) == ["incident_ack", "incident_escalate"]
    # The thread still pages in the channel too, and nobody else got a direct message.
    assert f"<@{MLOPS}> (MLOps engineer), please acknowledge INC1" in thread_texts(slack)[0]
    assert not dms(slack, PM) and not dms(slack, OWNER)

    staffed.runtime.sweep(at(16))
    assert len(dms(slack, DATA)) == 1 and len(dms(slack, PM)) == 1
    assert "escalation level 2 as the product manager" in message_text(dms(slack, PM)[0])
    assert len(slack.calls_to("conversations.open")) == 3  # one per person, once
    staffed.runtime.sweep(at(16.5))
    assert len(dms(slack, DATA)) == 1  # not twice


def test_acknowledging_from_the_direct_message_stops_the_climb_and_updates_every_page_in_place(staffed, slack):
    declare(staffed)
    staffed.runtime.sweep(at(16))
    dm = dms(slack, DATA)[0]
    with freeze_time(at(20)):
        clicked = staffed.sender.click(action_id="incident_ack", value="INC1", user=DATA, channel=dm["channel"],
                                       message=dm, block_id="page_actions")
        assert clicked.status == 200
    staffed.drain(at(20))
    texts = thread_texts(slack)
    assert f"Acknowledged by <@{DATA}> after 20 min. Escalation stopped." in texts[-1]
    for user in (MLOPS, DATA, PM):
        [page] = dms(slack, user)
        assert page["edited"], user
        assert f"Acknowledged by <@{DATA}> after 20 min" in message_text(page)
        assert buttons(page) == []
    assert "*Acknowledged* by" in message_text(root(slack))
    staffed.runtime.sweep(at(31))
    assert not dms(slack, OWNER) and not any("Level 3" in t for t in thread_texts(slack))

    with freeze_time(at(40)):
        staffed.command("incident resolve INC1 rolled back the model", user=DATA)
    staffed.drain(at(40))
    assert all("Resolved by" in message_text(dms(slack, user)[0]) for user in (MLOPS, DATA, PM))


def test_escalate_now_from_a_direct_message_is_fenced_like_the_thread(staffed, slack):
    declare(staffed)
    dm = dms(slack, MLOPS)[0]
    escalate = next(e for b in dm["blocks"] if b["type"] == "actions" for e in b["elements"]
                    if e["action_id"] == "incident_escalate")
    for minute in (2, 3):  # a double click: the second one saw level 1 too
        with freeze_time(at(minute)):
            staffed.sender.click(action_id="incident_escalate", value=escalate["value"], user=MLOPS,
                                 channel=dm["channel"], message=dm, block_id="page_actions")
        staffed.drain(at(minute))
    assert len([t for t in thread_texts(slack) if "*Level 2*" in t]) == 1
    assert "already at level 2" in message_text(slack.state.responses[-1])
    # Someone without a role (and not the fallback) cannot act from a forwarded page either.
    with freeze_time(at(4)):
        staffed.sender.click(action_id="incident_ack", value="INC1", user=OTHER, channel=dm["channel"], message=dm,
                             block_id="page_actions")
    staffed.drain(at(4))
    assert "Only people holding a role on `churn`" in message_text(slack.state.responses[-1])


def test_thread_only_preferences_per_severity_and_the_defaults(staffed, slack):
    with freeze_time(at(-5)):
        reply = staffed.command("me pages thread sev1 sev2", user=MLOPS)
    text = reply_text(reply)
    assert "sev1: the incident thread only (your choice)" in text and "sev3: a direct message and the thread" in text
    assert "sev4: the incident thread only" in text
    with freeze_time(at(-4)):
        shown = reply_text(staffed.command("me pages", user=MLOPS))  # bare: shows the choices, changes nothing
    assert "sev1: the incident thread only (your choice)" in shown and "sev3: a direct message" in shown
    declare(staffed)
    assert not dms(slack, MLOPS)  # sev1: the thread only, by choice
    assert f"<@{MLOPS}> (MLOps engineer)" in thread_texts(slack)[0]


def test_sev4_pages_the_thread_only_unless_the_person_asks_for_direct_messages(staffed, slack):
    declare(staffed, "sev4")
    assert not dms(slack, MLOPS)
    with freeze_time(at(1)):
        staffed.command("me pages dm", user=MLOPS)
        staffed.command("incident declare churn sev4 Another small thing", user=PM)
    staffed.drain(at(1))
    assert len(dms(slack, MLOPS)) == 1 and "INC2" in dms(slack, MLOPS)[0]["text"]


@pytest.mark.parametrize("text, error", [
    ("me pages sms", "`sms` is not a way to be paged"),
    ("me pages dm sev9", "`sev9` is not a severity"),
])
def test_bad_preferences_are_refused_and_change_nothing(staffed, slack, text, error):
    with freeze_time(at(-5)):
        reply = staffed.command(text, user=MLOPS)
    assert error in reply_text(reply) and "/steward me pages [dm|thread]" in reply_text(reply)
    declare(staffed)
    assert len(dms(slack, MLOPS)) == 1  # the default still holds


def test_a_role_reassigned_while_the_page_waits_names_the_new_holder(staffed, slack):
    declare(staffed, drain=False)  # Slack has not been reached yet: the page waits in the outbox
    with freeze_time(at(1)):
        staffed.command(f"role assign churn mlops <@{OTHER}>", user=OWNER)
    staffed.drain(at(1))
    page = thread_texts(slack)[0]
    assert f"<@{OTHER}> (MLOps engineer), please acknowledge INC1" in page and MLOPS not in page
    assert len(dms(slack, OTHER)) == 1 and not dms(slack, MLOPS)
    with Session(staffed.engine) as session:
        paged = {(p.user_id, p.via) for p in session.exec(select(IncidentPage))}
    assert paged == {(OTHER, "thread"), (OTHER, "dm")}


def test_a_page_held_back_by_a_rate_limit_names_whoever_holds_the_role_when_it_is_finally_sent(staffed, slack):
    slack.fail("chat.postMessage", status=429, retry_after=30, channel="C0OPS")
    declare(staffed)  # the root meets the 429: the page in its thread, and the direct page, wait
    assert not [m for m in slack.posts("C0OPS") if "INC1" in m["text"]] and not dms(slack, MLOPS)
    with freeze_time(at(0.2)):
        staffed.command(f"role assign churn mlops <@{OTHER}>", user=OWNER)
    staffed.drain(at(1))
    staffed.drain(at(1))
    assert f"<@{OTHER}> (MLOps engineer), please acknowledge INC1" in thread_texts(slack)[0]
    assert len(dms(slack, OTHER)) == 1 and not dms(slack, MLOPS)
    assert "Open the incident thread" not in message_text(dms(slack, OTHER)[0])
    assert "https://slack.com/archives/C0OPS/p" in message_text(dms(slack, OTHER)[0])


def test_a_rate_limited_conversations_open_is_retried_and_the_page_sent_once(staffed, slack):
    slack.fail("conversations.open", status=429, retry_after=3)
    declare(staffed)
    assert not dms(slack, MLOPS) and len(thread_texts(slack)) == 1  # the thread page is not held up
    staffed.drain(at(0.01))
    assert not dms(slack, MLOPS)  # Retry-After honoured
    staffed.drain(at(0.1))
    staffed.drain(at(1))
    assert len(dms(slack, MLOPS)) == 1
    assert len(slack.calls_to("conversations.open")) == 2


def test_without_im_write_the_direct_page_waits_for_a_person_and_the_thread_still_pages(staffed, slack):
    slack.scopes = {"chat:write", "chat:write.public", "commands"}
    declare(staffed)
    assert not dms(slack, MLOPS) and len(thread_texts(slack)) == 1
    with Session(staffed.engine) as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.purpose == "incident.page_dm")).one()
    assert row.last_error == "missing_scope" and row.status == "pending"


def home_of(slack, user):
    return [v for v in slack.state.views if v["kind"] == "home" and v["user_id"] == user][-1]["view"]


def test_the_home_tab_lists_the_persons_open_pages_with_acknowledge(staffed, slack):
    declare(staffed)
    with freeze_time(at(3)):
        staffed.sender.event({"type": "app_home_opened", "user": MLOPS, "channel": "D0HOME", "tab": "home",
                              "event_ts": "1772460180.000100"})
    staffed.drain(at(3))
    view = home_of(slack, MLOPS)
    texts = message_text({"blocks": view["blocks"]})
    assert "Your open pages" in texts and "*INC1* · SEV1 · Churn predictor (`churn`)" in texts
    [button] = [b["accessory"] for b in view["blocks"] if b.get("accessory", {}).get("action_id") == "incident_ack"]
    # Clicked on the Home tab, as Slack sends it: a view container, no channel, no response_url.
    payload = {"type": "block_actions", "user": {"id": MLOPS, "team_id": "T0LOCAL"},
               "team": {"id": "T0LOCAL", "domain": "local"}, "container": {"type": "view", "view_id": "V0HOME"},
               "view": {"id": "V0HOME", "type": "home"}, "trigger_id": "trigger-home",
               "actions": [{"type": "button", "action_id": "incident_ack", "block_id": "home_pages",
                            "value": button["value"], "action_ts": "1772460240.000200"}]}
    with freeze_time(at(4)):
        assert staffed.sender.interaction(payload).status == 200
    staffed.drain(at(4))
    assert f"Acknowledged by <@{MLOPS}> after 4 min" in thread_texts(slack)[-1]
    assert "Your open pages" not in message_text({"blocks": home_of(slack, MLOPS)["blocks"]})


def test_the_local_slack_opens_direct_messages_as_slack_documents(slack):
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    client = WebClient(token=slack.token, base_url=slack.api_url)
    first = client.conversations_open(users=MLOPS)
    assert first["channel"]["id"] == "D" + MLOPS[1:] and "already_open" not in first.data
    assert client.conversations_open(users=MLOPS)["already_open"] is True
    assert client.conversations_open(channel=first["channel"]["id"])["channel"]["id"] == first["channel"]["id"]
    for kwargs, error in (({"users": ""}, "users_list_not_supplied"), ({"users": "CNOTAUSER"}, "user_not_found"),
                          ({"channel": "C0OPS"}, "method_not_supported_for_channel_type"),
                          ({"channel": "DNOPE"}, "channel_not_found")):
        with pytest.raises(SlackApiError) as raised:
            client.conversations_open(**kwargs)
        assert raised.value.response["error"] == error
    slack.scopes = {"chat:write"}
    with pytest.raises(SlackApiError) as raised:
        client.conversations_open(users=PM)
    assert raised.value.response["error"] == "missing_scope" and raised.value.response["needed"] == "im:write"


def test_the_timeline_holds_the_pages_and_the_acknowledgement(staffed, slack):
    declare(staffed)
    with freeze_time(at(3)):
        staffed.command("incident ack INC1", user=MLOPS)
        shown = reply_text(staffed.command("incident show INC1", user=MLOPS))
    assert f"paged level 1 in the thread: <@{MLOPS}>" in shown and f"paged <@{MLOPS}> by direct message" in shown
    assert "acknowledged after 3 min" in shown


def test_a_page_still_reaches_people_when_the_incident_channel_refuses_steward(staffed, slack):
    slack.fail("chat.postMessage", error="channel_not_found", channel="C0OPS", times=None)
    declare(staffed)
    [dm] = dms(slack, MLOPS)
    assert "not in the channel yet: Steward cannot post there" in message_text(dm)
    assert buttons(dm) == ["incident_ack", "incident_escalate"]
    with freeze_time(at(2)):
        staffed.sender.click(action_id="incident_ack", value="INC1", user=MLOPS, channel=dm["channel"], message=dm,
                             block_id="page_actions")
    staffed.drain(at(2))
    assert "Acknowledged by" in message_text(dms(slack, MLOPS)[0]) and dms(slack, MLOPS)[0]["edited"]


def test_a_direct_page_whose_answer_was_lost_is_found_with_the_manifests_scopes_not_sent_twice(staffed, slack):
    """Real Slack reads a DM's history only with im:history: the manifest asks for it, the local Slack enforces it,
    and an unsure direct page is looked up there instead of paging the person twice."""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    from bot.manifest import BOT_SCOPES

    dm_channel = "D" + MLOPS[1:]
    slack.scopes = set(BOT_SCOPES)
    slack.fail("chat.postMessage", drop=True, after=True, channel=dm_channel)
    declare(staffed, drain=False)
    for minute in (0, 1, 2):
        staffed.drain(at(minute))
    assert len(dms(slack, MLOPS)) == 1  # Slack stored it, Steward did not hear back, and looked before posting
    assert [c for c in slack.calls_to("conversations.history") if c.args["channel"] == dm_channel]
    assert len([c for c in slack.calls_to("chat.postMessage") if c.args["channel"] == dm_channel]) == 1
    with Session(staffed.engine) as session:
        unsure = [row for row in session.exec(select(OutboxMessage)).all() if row.status != "sent"]
    assert not unsure  # the look-up found the page: recorded as sent, nothing left waiting

    slack.scopes = set(BOT_SCOPES) - {"im:history"}
    with pytest.raises(SlackApiError) as refused:
        WebClient(token=slack.token, base_url=slack.api_url).conversations_history(channel=dm_channel)
    assert refused.value.response["error"] == "missing_scope" and refused.value.response["needed"] == "im:history"
