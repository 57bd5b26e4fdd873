"""Issue 17 point 5: `/steward artifact <key> <acceptance-criteria|edge-cases|failure-modes> <link or text...>`
records the pilot's artifacts; the handoff exit needs all three."""

from datetime import UTC, datetime

from freezegun import freeze_time
from sqlmodel import Session, select

from storage import audit
from storage.models import AuditEvent, PilotArtifact
from tests.harness import ADMIN, message_text, reply_text

OWNER, PM, DATA, MLOPS, PILOT, OTHER = ("UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001", "UPILOT0001",
                                        "UOTHER0001")
NOW = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
CHECK = "Pilot artifacts: user acceptance criteria, edge-case inventory, failure-mode log"


def type_(steward, text, user=PM):
    with freeze_time(NOW):
        return reply_text(steward.command(text, user=user, channel="C0OPS"))


def in_handoff(steward):
    type_(steward, "initiative create triage Invoice triage stage=handoff", user=ADMIN)
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS), ("pilot", PILOT)):
        type_(steward, f"role assign triage {alias} <@{user}>", user=ADMIN)


def rows(steward):
    with Session(steward.engine) as session:
        return list(session.exec(select(PilotArtifact).order_by(PilotArtifact.id)))


def line_of(shown, label=CHECK):
    return next(line for line in shown.split("\n") if label in line)


def test_the_handoff_exit_needs_all_three_artifacts_and_names_the_commands(steward, slack):
    in_handoff(steward)
    line = line_of(type_(steward, "initiative advance triage", user=OWNER))
    assert line.startswith(":x:")
    assert "missing: user acceptance criteria, edge-case inventory, failure-mode log" in line
    for kind in ("acceptance-criteria", "edge-cases", "failure-modes"):
        assert f"`/steward artifact triage {kind} <link or text...>`" in line

    reply = type_(steward, "artifact triage acceptance-criteria <https://wiki.example/uat|UAT sign-off sheet>")
    assert "Recorded the *user acceptance criteria* of `triage`." in reply
    assert ":white_circle: edge-case inventory: `/steward artifact triage edge-cases <link or text...>`" in reply
    type_(steward, "artifact triage edge-cases credit notes, multi-currency invoices, scanned PDFs", user=PILOT)
    line = line_of(type_(steward, "initiative advance triage", user=OWNER))
    assert line.startswith(":x:") and "missing: failure-mode log" in line and "edge-cases" not in line
    type_(steward, "artifact triage failure-modes https://wiki.example/failure-log", user=DATA)
    line = line_of(type_(steward, "initiative advance triage", user=OWNER))
    assert line == f":white_check_mark: {CHECK} — all three on record"

    steward.drain(NOW)
    notices = [message_text(m) for m in slack.posts("C0OPS") if "recorded the *" in message_text(m)]
    assert len(notices) == 3 and f"<@{PILOT}> recorded the *edge-case inventory* of `triage`" in notices[1]
    assert "https://wiki.example/uat" in notices[0]
    recorded = rows(steward)
    assert [(r.kind, r.set_by) for r in recorded] == [("acceptance-criteria", PM), ("edge-cases", PILOT),
                                                     ("failure-modes", DATA)]
    with Session(steward.engine) as session:
        assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "artifact.recorded")).all()) == 3
        checked, problems = audit.verify_bindings(session=session, team_id="T0LOCAL")
        assert problems == [] and checked >= 3
        # an artifact edited behind Steward's back is named by the audit check
        row = session.exec(select(PilotArtifact).where(PilotArtifact.kind == "edge-cases")).one()
        row.content = "nothing"
        session.commit()
        _, problems = audit.verify_bindings(session=session, team_id="T0LOCAL")
        assert any("pilot artifact" in str(problem) for problem in problems)


def test_a_later_artifact_replaces_the_earlier_one_and_both_stay_in_history(steward):
    in_handoff(steward)
    type_(steward, "artifact triage failure-modes v1 in the wiki")
    assert "Replaced the *failure-mode log*" in type_(steward, "artifact triage failure-modes v2 after week 7")
    assert [r.content for r in rows(steward)] == ["v1 in the wiki", "v2 after week 7"]


def test_bad_artifact_commands_are_refused_and_change_nothing(steward):
    in_handoff(steward)
    assert "`runbook` is not a pilot artifact. Artifacts: `acceptance-criteria`, `edge-cases`, `failure-modes`." in \
        type_(steward, "artifact triage runbook https://wiki.example/runbook")
    assert "The artifact is missing" in type_(steward, "artifact triage")
    assert "The failure-mode log needs a link or a short text." in type_(steward, "artifact triage failure-modes")
    assert "at most 1000 are allowed" in type_(steward, "artifact triage edge-cases " + "x" * 1001)
    assert "not a valid initiative key" in type_(steward, "artifact Triage edge-cases list")
    assert "triagex" in type_(steward, "artifact triagex edge-cases list")  # no such initiative
    refused = type_(steward, "artifact triage edge-cases list", user=OTHER)
    assert "record the pilot's artifacts" in refused
    assert rows(steward) == []


def test_three_weeks_into_handoff_the_missing_artifacts_are_asked_for_once(steward, slack):
    from datetime import timedelta

    in_handoff(steward)
    type_(steward, "artifact triage acceptance-criteria https://wiki.example/uat")
    steward.runtime.sweep(NOW + timedelta(days=20))
    asked = [m for m in slack.posts("C0OPS") if "Pilot artifacts missing" in message_text(m)]
    assert asked == []
    for day in (21, 22, 29):
        steward.runtime.sweep(NOW + timedelta(days=day))
    [asked] = [m for m in slack.posts("C0OPS") if "Pilot artifacts missing" in message_text(m)]
    text = message_text(asked)
    assert f"<@{PM}> <@{PILOT}>: the handoff of `triage` cannot end without the pilot's artifacts" in text
    assert "edge-case inventory: `/steward artifact triage edge-cases <link or text...>`" in text
    assert "• failure-mode log" in text and "• user acceptance criteria" not in text


def test_initiative_show_lists_the_artifacts_during_handoff(steward):
    in_handoff(steward)
    type_(steward, "artifact triage edge-cases credit notes")
    shown = type_(steward, "initiative show triage", user=OTHER)
    assert "*Pilot artifacts*" in shown and ":white_check_mark: edge-case inventory" in shown
    assert ":white_circle: failure-mode log: `/steward artifact triage failure-modes <link or text...>`" in shown
