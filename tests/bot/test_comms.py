"""The launch communication plan (issue 17 point 2): orientation, launch-week training and a 30-day support
channel, prompted to the product manager when the launch comes, completed with evidence, the support channel
closed with a summary 30 days after launch, and the adoption checkpoint showing which were done on time."""

import json
from datetime import timedelta

from freezegun import freeze_time
from sqlmodel import Session, select

from storage.models import AuditEvent, CommsTask
from tests.bot.test_rollout import in_launch, posted, ready_handoff
from tests.bot.test_way_out import DATA, GOOD, PM, START, Clock, staff
from tests.harness import ADMIN, message_text


def tasks(steward) -> dict[str, CommsTask]:
    with Session(steward.engine) as session:
        return {row.task: row for row in session.exec(select(CommsTask))}


def test_the_launch_day_prompts_the_product_manager_once_with_the_three_tasks(steward, slack):
    clock = Clock(steward)
    in_launch(clock)
    steward.runtime.sweep(clock.now)
    steward.runtime.sweep(clock.now + timedelta(hours=1))
    [prompt] = posted(slack, "Launch communication plan")
    text = message_text(prompt)
    assert f"<@{PM}>" in text
    assert "Pre-launch orientation" in text and "due Mon 02 Mar 2026" in text
    assert "Launch-week training session with hands-on guided practice* — due Mon 09 Mar 2026" in text
    assert "`/steward comms triage support-channel done <#channel> <evidence...>`" in text
    assert "adoption rates 30 to 40% lower" in text


def test_tasks_done_on_time_or_late_the_support_channel_closes_itself_with_a_summary(steward, slack):
    clock = Clock(steward)
    in_launch(clock)
    for kpi, value in GOOD.items():
        clock.type(f"kpi record triage {kpi} {value}", user=DATA)
    reply = clock.type("comms triage orientation done deck wiki/orientation, 34 attended", user=PM)
    assert "as done, on time (due Mon 02 Mar 2026)" in reply
    reply = clock.type("comms triage support-channel done opened <#C0HELP|triage-help> pinned FAQ", user=PM)
    assert "Support channel: <#C0HELP>; it closes itself on Wed 01 Apr 2026 with a summary" in reply
    clock.later(9, step=1)
    assert "late (due Mon 09 Mar 2026)" in clock.type("comms triage training done recording wiki/training", user=PM)

    # The day-30 KPI checkpoint (the adoption checkpoint) says which were on time.
    clock.later(21, step=7)
    checkpoint = [message_text(c.args) for c in slack.calls_to("chat.postMessage")
                  if "KPI checkpoint" in message_text(c.args) and "*Why:*" in message_text(c.args)]
    assert checkpoint, "the 30-day checkpoint was not prompted"
    assert ("*Launch communication* (adoption): orientation on time (Mon 02 Mar 2026); training late "
            "(Wed 11 Mar 2026); support channel on time (Mon 02 Mar 2026)") in checkpoint[0]

    clock.later(2, step=1)
    clock.later(1, step=1)
    [summary] = posted(slack, "closed* on Wed 01 Apr 2026, 30 days after launch")
    text = message_text(summary)
    assert "<#C0HELP>" in text and "training late" in text and "Adoption: 71%" in text
    steward.runtime.sweep(clock.now + timedelta(days=1))
    assert len(posted(slack, "closed* on Wed 01 Apr 2026")) == 1
    assert tasks(steward)["support-channel"].closed_at is not None
    with Session(steward.engine) as session:
        actions = [e.action for e in session.exec(select(AuditEvent))]
    assert actions.count("comms.done") == 3 and "comms.support_closed" in actions


def test_a_support_channel_never_opened_is_said_so_at_day_30(steward, slack):
    clock = Clock(steward)
    in_launch(clock, days_ago=31)
    steward.runtime.sweep(clock.now)
    [summary] = posted(slack, "30-day support period")
    assert "no support channel was recorded" in message_text(summary)
    assert "orientation not done" in message_text(summary)
    late = clock.type("comms triage support-channel done <#C0HELP|help> late", user=PM)
    assert "The 30 days of the support channel" in late


def test_the_orientation_is_done_before_launch_and_shows_in_the_handoff_checklist(steward):
    clock = Clock(steward)
    ready_handoff(clock)
    assert ":information_source: Pre-launch orientation held" in clock.type("initiative advance triage")
    assert "as done, before launch" in clock.type("comms triage orientation done deck wiki/o", user=PM)
    assert ":white_check_mark: Pre-launch orientation held" in clock.type("initiative advance triage")


def test_bad_input_is_refused_clearly_and_changes_nothing(steward):
    clock = Clock(steward)
    in_launch(clock)
    for text, words in (
            ("comms triage", "The task is missing"),
            ("comms triage newsletter done x", "`newsletter` is not a task"),
            ("comms triage training", "Say `done`"),
            ("comms triage training finished x", "Say `done`"),
            ("comms triage training done", "needs evidence"),
            ("comms triage support-channel done opened the channel", "Name the support channel"),
            ("comms nosuch training done x", "nosuch")):
        assert words in clock.type(text, user=PM), text
    assert "role" in clock.type("comms triage training done x", user="UNOBODY001")
    assert tasks(steward) == {}
    clock.type("comms triage training done session 1", user=PM)
    assert "was recorded as done" in clock.type("comms triage training done session 2", user=PM)
    assert tasks(steward)["training"].evidence == "session 1"


def test_the_plan_is_refused_in_readiness(steward):
    clock = Clock(steward)
    clock.type("initiative create triage Invoice triage", user=ADMIN)
    staff(clock, "triage")
    assert "runs from handoff" in clock.type("comms triage orientation done deck", user=PM)
    assert tasks(steward) == {}
    assert START  # the clock starts at START


def test_the_prompt_buttons_open_a_form_that_records_the_task_with_its_evidence(steward, slack):
    clock = Clock(steward)
    in_launch(clock)
    steward.runtime.sweep(clock.now)
    [prompt] = posted(slack, "Launch communication plan")
    buttons = {e["value"]: e for b in prompt["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert set(buttons) == {"triage|orientation", "triage|training", "triage|support-channel"}
    with freeze_time(clock.now + timedelta(days=1)):
        steward.sender.click(action_id="comms_open", value="triage|support-channel", user=PM, channel="C0OPS",
                             message=prompt, block_id="comms_actions")
        [opened] = slack.calls_to("views.open")
        view = opened.args["view"]
        if isinstance(view, str):
            view = json.loads(view)
        assert [b["block_id"] for b in view["blocks"] if b["type"] == "input"] == ["channel", "evidence"]
        metadata = view["private_metadata"]
        # No channel chosen: the refusal shows under the field, nothing is recorded.
        empty = steward.sender.submit_view(callback_id="comms_submit", user=PM, private_metadata=metadata, values={
            "evidence": {"text": {"type": "plain_text_input", "value": "pinned FAQ"}}})
        assert empty.json()["response_action"] == "errors" and "Choose the support channel" in \
            empty.json()["errors"]["evidence"]
        assert tasks(steward)["support-channel"].done_at is None
        values = {"channel": {"value": {"type": "channels_select", "selected_channel": "C0HELP"}},
                  "evidence": {"text": {"type": "plain_text_input", "value": "pinned FAQ"}}}
        outsider = steward.sender.submit_view(callback_id="comms_submit", user="UNOBODY001",
                                              private_metadata=metadata, values=values)
        assert outsider.json()["response_action"] == "errors"
        response = steward.sender.submit_view(callback_id="comms_submit", user=PM, private_metadata=metadata,
                                              values=values)
        assert response.status == 200
    row = tasks(steward)["support-channel"]
    assert (row.slack_channel, row.evidence, row.done_by) == ("C0HELP", "pinned FAQ", PM)
    # Clicking again on a task already done says so instead of opening the form.
    with freeze_time(clock.now + timedelta(days=1)):
        steward.sender.click(action_id="comms_open", value="triage|support-channel", user=PM, channel="C0OPS",
                             message=prompt, block_id="comms_actions")
    assert len(slack.calls_to("views.open")) == 1
