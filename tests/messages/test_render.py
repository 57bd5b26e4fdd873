"""Rendering: valid Block Kit within Slack's limits, and user text that cannot become markup."""

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from messages.render import Message, MessageTooLarge, check_limits, local_time, render


def initiative(**overrides):
    values = dict(key="triage", name="Invoice triage", stage="readiness", channel_id="C0OPS", timezone="UTC",
                  stage_entered_at=datetime(2026, 3, 1, tzinfo=UTC), created_at=datetime(2026, 3, 1, tzinfo=UTC),
                  created_by="U1", launch_date=None, holiday_country=None)
    values.update(overrides)
    return SimpleNamespace(**values)


def test_user_text_cannot_mention_or_link():
    message = render("notice_initiative_created", initiative=initiative(name="<!channel> & <https://x|y>"),
                     actor="U1", stage_title="Stage 1", imported=False)
    section = message.blocks[0]["text"]["text"]
    assert "<!channel>" not in section and "&lt;!channel&gt; &amp; &lt;https://x|y&gt;" in section
    assert "<@U1>" in section  # Steward's own mention of the actor still works


def test_error_messages_escape_what_the_person_typed():
    message = render("error", message="`<@U1>` is not a role", usage="/steward role assign <key>")
    assert "&lt;@U1&gt;" in message.blocks[0]["text"]["text"]
    assert "&lt;key&gt;" in message.blocks[1]["elements"][0]["text"]


def test_times_are_shown_in_the_initiatives_zone_with_its_name():
    moment = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    assert local_time(moment, "Europe/Berlin") == "Wed 01 Jul 2026 10:00 Europe/Berlin"


def test_limits_are_enforced():
    with pytest.raises(MessageTooLarge, match="51 blocks"):
        check_limits(Message("x", [{"type": "divider"}] * 51))
    with pytest.raises(MessageTooLarge, match="section text"):
        check_limits(Message("x", [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}]))
    button = {"type": "button", "text": {"type": "plain_text", "text": "z" * 76}, "value": "v"}
    with pytest.raises(MessageTooLarge, match="button text"):
        check_limits(Message("x", [{"type": "actions", "elements": [button]}]))


def test_a_long_list_stays_within_fifty_blocks():
    items = [{"key": f"k{n}", "name": f"Name {n}", "channel_id": "C1", "stage": "readiness", "vacant": [],
              "not_in_channel": False} for n in range(120)]
    message = render("initiative_list", initiatives=items)
    assert len(message.blocks) <= 50
    assert "and 80 more" in json.dumps(message.blocks)


def test_a_prompt_names_one_person_per_line():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from bot.domain.cadence import DEFAULT_CADENCE
    from bot.domain.vocabulary import Role
    from messages import reviews

    rule = DEFAULT_CADENCE.rule("monthly-performance-review")
    review = SimpleNamespace(number=7, kind=rule.kind, due_at=datetime(2026, 3, 2, 9, tzinfo=UTC))
    initiative = SimpleNamespace(key="churn", name="Churn", timezone="Europe/Berlin", channel_id="C1")
    people = [(Role.BUSINESS_OWNER, "UOLGA"), (Role.PRODUCT_MANAGER, "UPAUL"), (Role.MLOPS_ENGINEER, None)]
    message = reviews.prompt(review, rule, initiative, people=people)
    who = next(block["text"]["text"] for block in message.blocks
               if block.get("text", {}).get("text", "").startswith("*Who*"))
    assert who.splitlines()[1:4] == ["• business owner: <@UOLGA>", "• product manager: <@UPAUL>",
                                     "• MLOps engineer: *vacant*, assign with "
                                     "`/steward role assign churn mlops_engineer @someone`"]
