"""Creating, listing and showing initiatives through signed slash commands."""

from sqlmodel import Session, select

from storage.models import AuditEvent, Initiative, OutboxMessage
from tests.harness import ADMIN, message_text, reply_text

USER = "UPLAIN0001"


def initiatives(steward) -> list[Initiative]:
    with Session(steward.engine) as session:
        return list(session.exec(select(Initiative)))


def test_admin_creates_an_initiative_bound_to_the_channel_and_the_channel_hears_of_it(steward, slack):
    response = steward.command("initiative create invoice-triage Invoice triage assistant", channel="C0OPS")

    assert response.status == 200
    assert "Created *Invoice triage assistant* (`invoice-triage`)" in reply_text(response)
    assert response.json()["response_type"] == "ephemeral"
    [created] = initiatives(steward)
    assert (created.key, created.channel_id, created.stage, created.team_id) == (
        "invoice-triage", "C0OPS", "readiness", "T0LOCAL")

    assert slack.posts("C0OPS") == []  # nothing reaches Slack until the outbox is drained
    steward.drain()
    [notice] = slack.posts("C0OPS")
    assert "started tracking *Invoice triage assistant*" in message_text(notice)
    assert f"<@{ADMIN}>" in message_text(notice)


def test_import_with_stage_and_since_records_when_the_stage_began(steward):
    steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05 tz=Europe/Berlin")

    [created] = initiatives(steward)
    assert created.stage == "operations"
    assert created.timezone == "Europe/Berlin"
    # Midnight in Berlin on 5 January is 23:00 UTC the day before.
    assert created.stage_entered_at.isoformat() == "2026-01-04T23:00:00+00:00"
    with Session(steward.engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "initiative.imported"))
    assert event.actor == ADMIN and event.target == "churn"


def test_non_admin_cannot_create_or_import_and_nothing_changes(steward, slack):
    response = steward.command("initiative create churn Churn predictor", user=USER)
    assert "Only Steward admins may create initiatives" in reply_text(response)
    response = steward.command("initiative create churn Churn predictor stage=launch", user=USER)
    assert "Only Steward admins may import initiatives" in reply_text(response)

    assert initiatives(steward) == []
    steward.drain()
    assert slack.posts() == []
    with Session(steward.engine) as session:
        assert list(session.exec(select(OutboxMessage))) == []


def test_bad_inputs_get_a_clear_error_with_the_right_form_and_change_nothing(steward):
    cases = {
        "initiative create": "The initiative key is missing.",
        "initiative create Invoice Triage": "`Invoice` is not a valid initiative key",
        "initiative create triage": "The initiative name is missing.",
        "initiative create triage Triage stage=production": "`production` is not a stage",
        "initiative create triage Triage since=2026-13-01": "`2026-13-01` is not a date",
        "initiative create triage Triage since=2999-01-01": "`since=2999-01-01` is in the future",
        "initiative create triage Triage tz=Mars/Olympus": "`Mars/Olympus` is not a time zone",
        "initiative create triage Triage country=XX": "`XX` is not a country",
        "initiative create triage " + "x" * 81: "at most 80 are allowed",
        "initiative create triage Triage <!channel>": "cannot contain mentions",
        "initiative frobnicate": "`initiative frobnicate` is not a command",
        "initiative show": "The initiative key is missing.",
        "initiative show nosuch": "There is no initiative `nosuch`",
        "initiative list everything": "Unexpected `everything`",
        "launch the rockets": "`launch` is not a command",
    }
    for text, expected in cases.items():
        shown = reply_text(steward.command(text))
        assert expected in shown, (text, shown)
        assert "Usage:" in shown or "nosuch" in text, text
    assert initiatives(steward) == []


def test_creating_from_a_direct_message_is_refused(steward):
    shown = reply_text(steward.command("initiative create triage Triage", channel="D0DIRECT1"))
    assert "from the channel it should post in" in shown
    assert initiatives(steward) == []


def test_duplicate_key_is_refused(steward):
    steward.command("initiative create triage Triage", channel="C0OPS")
    shown = reply_text(steward.command("initiative create triage Another"))
    assert "already exists" in shown
    assert [i.name for i in initiatives(steward)] == ["Triage"]


def test_list_and_show_describe_stage_roles_and_vacancies(steward):
    steward.command("initiative create triage Invoice triage", channel="C0OPS")
    steward.command("initiative create churn Churn predictor stage=operations since=2026-01-05")
    steward.command("role assign triage owner <@UOWNER0001|olga>")

    listed = reply_text(steward.command("initiative list", user=USER))
    assert "Initiatives (2)" in listed
    assert "*Churn predictor* (`churn`)" in listed and "Stage 4: full production operations" in listed
    assert "vacant: product manager, data engineer, MLOps engineer" in listed

    shown = reply_text(steward.command("initiative show triage", user=USER))
    assert "Invoice triage (triage)" in shown
    assert "business owner: <@UOWNER0001>" in shown
    assert "product manager: *vacant* (required)" in shown
    assert "<#C0OPS>" in shown


def test_help_lists_every_command(steward):
    shown = reply_text(steward.command("help", user=USER))
    for form in ("initiative create <key> <name...>", "initiative list", "initiative show <key>",
                 "role assign <key> <role> <@user>", "role unassign <key> <role>"):
        assert form in shown
    assert reply_text(steward.command("", user=USER)) == shown


def test_workspaces_never_see_each_other(steward):
    steward.command("initiative create triage Triage", channel="C0OPS")
    other = steward.command("initiative list", team_id="T0OTHER")
    assert "No initiatives yet" in reply_text(other)
    assert "There is no initiative `triage`" in reply_text(steward.command("initiative show triage", team_id="T0OTHER"))
    # The same key is free in another workspace.
    steward.command("initiative create triage Other triage", channel="C0OPS", team_id="T0OTHER")
    assert sorted((i.team_id, i.name) for i in initiatives(steward)) == [
        ("T0LOCAL", "Triage"), ("T0OTHER", "Other triage")]


def test_initiatives_survive_a_restart(steward):
    steward.command("initiative create triage Invoice triage", channel="C0OPS")
    steward.command("role assign triage pm <@UPM0000001>")
    steward.restart()
    shown = reply_text(steward.command("initiative show triage"))
    assert "product manager: <@UPM0000001>" in shown


def test_create_and_import_both_join_a_public_channel_and_check_a_private_one(steward, slack):
    slack.add_channel("C0NEW", "new", member=False)
    slack.add_channel("G0NEW", "new-private", private=True, member=False)
    created = reply_text(steward.command("initiative create fresh Fresh idea", channel="C0NEW"))
    imported = reply_text(steward.command("initiative create old Old one stage=launch since=2026-01-05",
                                          channel="G0NEW"))
    assert slack.state.channels["C0NEW"]["is_member"] and "/invite" not in created
    assert "`/invite @Steward`" in imported
    assert {i.key: i.channel_state for i in initiatives(steward)} == {"fresh": "member", "old": "not_in_channel"}
    assert [c.args["channel"] for c in slack.calls_to("conversations.info")] == ["C0NEW", "G0NEW"]
