"""Assigning and unassigning production roles, with history kept and the channel told."""

from sqlmodel import Session, select

from storage.models import AuditEvent, RoleAssignment
from tests.harness import message_text, reply_text

OWNER, PM, OTHER = "UOWNER0001", "UPM0000001", "UOTHER0001"


def assignments(steward) -> list[RoleAssignment]:
    with Session(steward.engine) as session:
        return list(session.exec(select(RoleAssignment).order_by(RoleAssignment.id)))


def test_admin_staffs_the_four_production_roles_and_the_channel_sees_each(steward, slack):
    steward.command("initiative create triage Invoice triage", channel="C0OPS")
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", "UDATA00001"), ("mlops", "UMLOPS0001")):
        response = steward.command(f"role assign triage {alias} <@{user}|someone>")
        assert f"is now <@{user}>" in reply_text(response)
    steward.drain()
    notices = [message_text(m) for m in slack.posts("C0OPS")][1:]
    assert len(notices) == 4
    assert f"<@{OWNER}> is now the *business owner* of `triage`" in notices[0]
    assert "Required roles still vacant: product manager, data engineer, MLOps engineer." in notices[0]
    assert "Required roles still vacant" not in notices[3]
    shown = reply_text(steward.command("initiative show triage"))
    assert "MLOps engineer: <@UMLOPS0001>" in shown


def test_reassigning_ends_the_previous_holder_and_keeps_history(steward, slack):
    steward.command("initiative create triage Invoice triage", channel="C0OPS")
    steward.command(f"role assign triage pm <@{PM}>")
    steward.command(f"role assign triage product-manager <@{OTHER}>")

    first, second = assignments(steward)
    assert (first.user_id, second.user_id) == (PM, OTHER)
    assert first.ended_at is not None and second.ended_at is None
    steward.drain()
    assert f"(was <@{PM}>)" in message_text(slack.posts("C0OPS")[-1])


def test_unassign_leaves_the_role_vacant_and_says_so(steward, slack):
    steward.command("initiative create triage Invoice triage", channel="C0OPS")
    steward.command(f"role assign triage owner <@{OWNER}>")
    response = steward.command("role unassign triage owner")
    assert "business owner of triage is now vacant" in reply_text(response)
    [row] = assignments(steward)
    assert row.ended_at is not None  # ended, not deleted
    steward.drain()
    assert "is now *vacant*" in message_text(slack.posts("C0OPS")[-1])
    assert "already vacant" in reply_text(steward.command("role unassign triage owner"))


def test_business_owner_may_staff_their_initiative_but_others_may_not(steward):
    steward.command("initiative create triage Invoice triage", channel="C0OPS")
    refused = steward.command(f"role assign triage pm <@{PM}>", user=OTHER)
    assert "Only Steward admins and its business owner (vacant) may change the roles" in reply_text(refused)
    steward.command(f"role assign triage owner <@{OWNER}>")
    refused = steward.command("role unassign triage owner", user=OTHER)
    assert f"its business owner (<@{OWNER}>)" in reply_text(refused)
    accepted = steward.command(f"role assign triage pm <@{PM}>", user=OWNER)
    assert "is now <@UPM0000001>" in reply_text(accepted)
    assert [a.user_id for a in assignments(steward) if a.ended_at is None] == [OWNER, PM]


def test_bad_role_commands_explain_and_change_nothing(steward):
    steward.command("initiative create triage Invoice triage", channel="C0OPS")
    steward.command(f"role assign triage owner <@{OWNER}>")
    before = assignments(steward)
    cases = {
        "role": "`role` needs a verb.",
        "role give triage owner <@U1>": "`role give` is not a command",
        "role assign": "The initiative key is missing.",
        "role assign triage": "The role is missing.",
        "role assign triage boss <@UX0000001>": "`boss` is not a role",
        "role assign triage pm": "The person is missing",
        "role assign triage pm dana": "`dana` is not a person",
        "role assign triage pm <#C0OPS|ai-ops>": "is not a person",
        "role assign nosuch pm <@UX0000001>": "There is no initiative `nosuch`",
        f"role assign triage owner <@{OWNER}>": "already is the business owner",
        "role assign triage pm <@UX0000001> <@UY0000001>": "Unexpected",
        "role unassign triage": "The role is missing.",
        "role unassign triage pm": "already vacant",
    }
    for text, expected in cases.items():
        shown = reply_text(steward.command(text))
        assert expected in shown, (text, shown)
    assert assignments(steward) == before


def test_every_change_is_an_audit_event(steward):
    steward.command("initiative create triage Invoice triage", channel="C0OPS")
    steward.command(f"role assign triage owner <@{OWNER}>")
    steward.command(f"role assign triage owner <@{OTHER}>")
    steward.command("role unassign triage owner")
    with Session(steward.engine) as session:
        events = list(session.exec(select(AuditEvent).order_by(AuditEvent.seq)))
    assert [e.action for e in events] == ["initiative.created", "role.assigned", "role.assigned", "role.unassigned"]
    assert '"previous":"UOWNER0001"' in events[2].payload
