"""Sign-offs and stage gates: an initiative walked from readiness to operations, each gate refusing first."""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from freezegun import freeze_time
from sqlmodel import Session, select

from bot.audit_check import export_rows
from storage.models import AuditEvent, Initiative, Review, SignOff
from tests.harness import message_text, reply_text
from tests.tamper import tamper

OWNER, PM, DATA, MLOPS, SPONSOR, PILOT, REP, OTHER = ("UOWNER0001", "UPM0000001", "UDATA00001", "UMLOPS0001",
                                                       "USPONSOR01", "UPILOT0001", "UREP000001", "UOTHER0001")
START = datetime(2026, 1, 5, 11, 0, tzinfo=UTC)  # a Monday, after the 10:00 prompts
THRESHOLDS = {"task-completion": 90, "exception-rate": 8, "data-quality": 95, "adoption": 60, "latency": 2}
GOOD = {"task-completion": 93, "exception-rate": 5, "data-quality": 97, "adoption": 71, "latency": 1.2}


class Clock:
    """Commands typed at a moment of the walk; sweeps run at the same moment."""

    def __init__(self, steward):
        self.steward, self.now = steward, START

    def type(self, text, user=OWNER):
        with freeze_time(self.now):
            return reply_text(self.steward.command(text, user=user, channel="C0OPS"))

    def later(self, **delta):
        self.now += timedelta(**delta)
        self.steward.runtime.sweep(self.now)


@pytest.fixture
def walk(steward):
    clock = Clock(steward)
    clock.type("initiative create triage Invoice triage", user="UADMIN0001")
    for alias, user in (("owner", OWNER), ("pm", PM), ("data", DATA), ("mlops", MLOPS), ("sponsor", SPONSOR),
                        ("pilot", PILOT), ("user-rep", REP)):
        clock.type(f"role assign triage {alias} <@{user}>", user="UADMIN0001")
    return clock


def stage(steward):
    with Session(steward.engine) as session:
        return session.exec(select(Initiative)).one().stage


def signoffs(steward):
    with Session(steward.engine) as session:
        return list(session.exec(select(SignOff).order_by(SignOff.id)))


def weekly_kpis(walk, *, weeks, values=GOOD):
    """The data engineer records every KPI now and then once a week for `weeks` weeks (the clock moves on)."""
    for week in range(weeks + 1):
        if week:
            walk.now += timedelta(days=7)
        for kpi, value in values.items():
            walk.type(f"kpi record triage {kpi} {value}", user=DATA)


def open_review(steward, kind):
    with Session(steward.engine) as session:
        return session.exec(select(Review).where(Review.kind == kind, Review.status == "posted")).one()


def prepare_readiness(walk):
    for dimension in ("data", "integration", "governance", "baseline", "organization"):
        walk.type(f"readiness triage {dimension} ready evidence for {dimension}", user=PM)
    for kpi, value in THRESHOLDS.items():
        walk.type(f"kpi threshold triage {kpi} {value}", user=PM)
    assert "now in force" in walk.type("signoff triage baseline approve Agreed in steering committee")
    walk.type("value triage Cut invoice handling time by 30% by Q3")  # issue 17: committed business value


def open_and_done(walk, kind, user=PM, notes="fine"):
    walk.type(f"review done R{open_review(walk.steward, kind).number} {notes}", user=user)


def test_readiness_gate_lists_what_is_missing_until_it_holds(walk):
    shown = walk.type("initiative advance triage")
    assert "cannot leave *Stage 1: production readiness assessment* for handoff yet" in shown
    assert ":x: Readiness: data reliability — not assessed" in shown
    assert ":x: Baseline thresholds signed by the business owner" in shown
    assert ":information_source: Governance record — 2 of 6 items" in shown  # owner and escalation are known
    assert ":x: Stage exit signed by the business owner" in shown
    assert stage(walk.steward) == "readiness"

    prepare_readiness(walk)
    walk.type("readiness triage data not-ready the upstream SLA lapsed", user=DATA)
    assert ":x: Readiness: data reliability — not ready" in walk.type("initiative advance triage")
    walk.type("readiness triage data ready SLA renewed", user=DATA)
    walk.type("signoff triage stage-exit approve", user=OWNER)
    shown = walk.type("initiative advance triage")
    assert "moved to *Stage 2: ownership transfer*" in shown
    assert stage(walk.steward) == "handoff"
    walk.steward.drain()
    notice = message_text(walk.steward.slack.posts("C0OPS")[-1])
    assert "moved from Stage 1: production readiness assessment to *Stage 2: ownership transfer*" in notice
    assert "Weekly parallel-operation review" in notice


def test_the_whole_walk_from_readiness_to_operations(walk):
    prepare_readiness(walk)
    walk.type("signoff triage stage-exit approve")
    walk.type("initiative advance triage")
    assert stage(walk.steward) == "handoff"

    # Handoff: 28 days of parallel operation and a signed governance record.
    shown = walk.type("initiative advance triage")
    assert ":x: At least 28 days of parallel operation — 0 days so far" in shown
    assert ":x: Stage exit signed" in shown  # the readiness stage exit does not count for handoff
    refused = walk.type("signoff triage governance approve")
    assert "The governance record is incomplete; missing: `use-case`, `compliance`, `audit-spec`" in refused
    walk.type("governance triage use-case <https://wiki.example.com/triage-scope|scope> Invoices under 10k EUR")
    walk.type("governance triage compliance DPIA-2026-014 approved by privacy office", user=PM)
    walk.type("governance triage audit-spec Every decision logged with model version", user=MLOPS)
    assert "https://wiki.example.com/triage-scope Invoices under 10k EUR" in walk.type("governance triage")
    walk.type("signoff triage governance approve")
    for week in range(4):  # four weekly parallel-operation reviews, completed by the product manager
        walk.later(days=7)
        open_and_done(walk, "parallel-ops-review", notes=f"week {week + 1}")
        if week % 2:  # issue 17: a retrospective every two weeks
            open_and_done(walk, "handoff-retrospective")
    for kind in ("acceptance-criteria", "edge-cases", "failure-modes"):  # issue 17: the pilot's artifacts
        walk.type(f"artifact triage {kind} wiki page for {kind}", user=PILOT)
    walk.type("fallback triage The AP team triages by hand from the shared inbox", user=PM)
    walk.type("rollout triage 10", user=PM)
    walk.type("signoff triage stage-exit approve")
    assert "moved to *Stage 3: controlled production launch*" in walk.type("initiative advance triage")

    # Launch: six weekly launch reviews completed, and the 90-day checkpoint within thresholds.
    for week in range(6):
        walk.later(days=7)
        with Session(walk.steward.engine) as session:
            review = session.exec(select(Review).where(Review.kind == "launch-review", Review.status == "posted")).one()
        walk.type(f"review done R{review.number} week {week + 1} fine")
    shown = walk.type("initiative advance triage")
    assert ":white_check_mark: 6 weekly launch reviews completed" in shown
    assert ":x: 90-day KPI checkpoint within thresholds — the 90-day checkpoint is not due yet" in shown
    walk.type("signoff triage rollout:100 approve")  # issue 17: the launch ends at 100%, signed
    assert "now serves *100%*" in walk.type("rollout triage 100", user=PM)
    walk.later(days=50)  # 92 days after launch
    for kpi, value in GOOD.items():
        walk.type(f"kpi record triage {kpi} {value}", user=DATA)
    walk.type("signoff triage stage-exit approve")
    assert "moved to *Stage 4: full production operations*" in walk.type("initiative advance triage")
    assert stage(walk.steward) == "operations"

    # Scope expansion: refused before 90 days in operations; then, after 90 days of stable operations with every
    # KPI measured weekly, it takes two different people.
    refused = walk.type("signoff triage scope-expansion approve", user=SPONSOR)
    assert "only after 90 days of stable operations" in refused and "for 0 days" in refused
    weekly_kpis(walk, weeks=13)
    walk.later(days=1)
    assert "Still needed: executive sponsor" in walk.type("signoff triage scope-expansion approve", user=OWNER)
    assert "approved by both the business owner and the executive sponsor" in \
        walk.type("signoff triage scope-expansion approve", user=SPONSOR)

    # The whole history verifies.
    from storage.audit import verify_chain

    with Session(walk.steward.engine) as session:
        checked, problem = verify_chain(session=session, team_id="T0LOCAL")
    assert problem is None and checked > 60


def in_operations_since(walk, days):
    with Session(walk.steward.engine) as session:
        initiative = session.exec(select(Initiative)).one()
        initiative.stage, initiative.stage_entered_at = "operations", walk.now - timedelta(days=days)
        session.add(initiative)
        session.commit()


def test_scope_expansion_needs_two_different_people(walk):
    prepare_readiness(walk)
    in_operations_since(walk, 120)
    weekly_kpis(walk, weeks=13)
    walk.type(f"role assign triage sponsor <@{OWNER}>", user="UADMIN0001")  # one person holds both roles
    assert "Still needed: executive sponsor" in walk.type("signoff triage scope-expansion approve", user=OWNER)
    refused = walk.type("signoff triage scope-expansion approve", user=OWNER)
    assert "Still needed" in refused  # signed again as business owner: the sponsor is still missing
    walk.type("signoff triage scope-expansion approve", user=OWNER)
    with Session(walk.steward.engine) as session:
        approved = [e for e in session.exec(select(AuditEvent)) if e.action == "scope_expansion.approved"]
    assert approved == []


def test_scope_expansion_refused_while_a_kpi_is_outside_its_threshold(walk):
    prepare_readiness(walk)
    in_operations_since(walk, 120)
    weekly_kpis(walk, weeks=13)
    walk.type("kpi record triage exception-rate 12", user=DATA)
    refused = walk.type("signoff triage scope-expansion approve", user=OWNER)
    assert ":x: every measurement within the threshold in force" in refused
    assert "exception rate 12% (≤ 8%) measured 06 Apr 2026 UTC" in refused and "outside its threshold" in refused
    assert "INC1 (sev3) opened 06 Apr 2026 UTC" in refused and ", is still open" in refused
    assert [s.subject for s in signoffs(walk.steward)] == ["baseline"]


def test_only_the_right_role_signs_and_refusals_are_audited_without_a_signoff(walk):
    for subject in ("stage-exit", "baseline", "governance"):
        shown = walk.type(f"signoff triage {subject} approve", user=PM)
        assert f"Only the business owner (<@{OWNER}>) can sign `{subject}` for `triage`." in shown
    shown = walk.type("signoff triage scope-expansion approve", user=OTHER)
    assert f"Only the business owner (<@{OWNER}>) or the executive sponsor (<@{SPONSOR}>) can sign" in shown
    assert signoffs(walk.steward) == []
    with Session(walk.steward.engine) as session:
        refused = [json.loads(e.payload) for e in session.exec(select(AuditEvent)) if e.action == "signoff.refused"]
    assert [r["subject"] for r in refused] == ["stage-exit", "baseline", "governance", "scope-expansion"]


def test_a_later_signoff_supersedes_an_earlier_one(walk):
    prepare_readiness(walk)
    for dimension in ("data", "integration", "governance", "baseline", "organization"):
        walk.type(f"readiness triage {dimension} ready ok", user=PM)
    walk.type("signoff triage stage-exit approve")
    walk.type("signoff triage stage-exit reject data contract not signed after all")
    shown = walk.type("initiative advance triage")
    assert ":x: Stage exit signed" in shown and stage(walk.steward) == "readiness"
    assert [(s.subject, s.decision) for s in signoffs(walk.steward)] == [
        ("baseline", "approve"), ("stage-exit", "approve"), ("stage-exit", "reject")]
    # A rejected new baseline leaves the approved thresholds in force.
    walk.type("kpi threshold triage latency 5", user=PM)
    walk.type("signoff triage baseline reject too lax")
    shown = walk.type("kpi record triage latency 3", user=DATA)
    assert "*outside* threshold" in shown


def test_baseline_needs_all_five_thresholds_and_values_are_checked(walk):
    walk.type("kpi threshold triage task-completion 90", user=PM)
    refused = walk.type("signoff triage baseline approve")
    assert "Propose all five thresholds before approving the baseline; missing: `exception-rate`" in refused
    for text, expected in {
        "kpi threshold triage adoption 140": "cannot be above 100 %",
        "kpi threshold triage latency -1": "cannot be below 0 s",
        "kpi record triage latency fast": "`fast` is not a number",
        "kpi record triage accuracy 90": "`accuracy` is not a KPI",
        "kpi record triage adoption nan": "must be a finite number",
        "kpi record nosuch adoption 50": "There is no initiative `nosuch`",
    }.items():
        assert expected in walk.type(text, user=PM), text
    assert "Only people holding a role on `triage`" in walk.type("kpi record triage adoption 50", user=OTHER)


def test_bad_signoff_commands_explain_and_record_nothing(walk):
    for text, expected in {
        "signoff": "The initiative key is missing.",
        "signoff triage": "The subject is missing.",
        "signoff triage launch approve": "`launch` is not a sign-off subject",
        "signoff triage baseline": "The decision is missing",
        "signoff triage baseline maybe": "`maybe` is not a decision",
        "signoff triage review:R99 approve": "There is no review R99",
        "signoff triage postmortem:INC9 approve": "There is no incident INC9 on `triage`",
        "signoff triage baseline approve " + "c" * 1001: "at most 1000 are allowed",
        "readiness triage vibes ready": "`vibes` is not a readiness dimension",
        "readiness triage data maybe": "`maybe` is not the assessment",
        "governance triage owner me": "`owner` cannot be set",
        "governance triage use-case": "needs a link or a short text",
    }.items():
        assert expected in walk.type(text), text
    assert signoffs(walk.steward) == []


def test_review_and_retraining_signoffs_complete_their_reviews(walk, slack):
    prepare_readiness(walk)
    with Session(walk.steward.engine) as session:
        initiative = session.exec(select(Initiative)).one()
        initiative.stage, initiative.stage_entered_at = "operations", START
        initiative.cadence_next_at = START
        session.add(initiative)
        session.commit()
    walk.later(days=91)  # monthly reviews and the first quarterly assessment
    with Session(walk.steward.engine) as session:
        quarterly = session.exec(select(Review).where(Review.kind == "quarterly-retraining-assessment")).one()
        monthly = session.exec(select(Review).where(Review.kind == "monthly-performance-review",
                                                    Review.status == "posted")).one()
    assert "is a monthly-performance-review, not a quarterly" in \
        walk.type(f"signoff triage retraining:R{monthly.number} approve")
    shown = walk.type(f"signoff triage retraining:R{quarterly.number} reject drift is within noise")
    assert f"Retraining rejected; R{quarterly.number} is completed." in shown
    assert f"R{monthly.number} is completed." in walk.type(f"signoff triage review:R{monthly.number} approve fine")
    with Session(walk.steward.engine) as session:
        done = session.get(Review, quarterly.id)
    assert (done.status, done.notes) == ("completed", "Retraining rejected: drift is within noise")


def test_postmortem_signed_through_the_button_and_modal_records_once(walk, slack):
    walk.type("incident declare triage sev2 Wrong currency on invoices", user=PM)
    walk.type("incident resolve INC1 Fixed the currency mapping", user=MLOPS)
    walk.steward.drain()
    [note] = [m for m in slack.posts("C0OPS") if "Resolved by" in message_text(m)]
    [button] = [e for b in note["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["value"] == "triage|postmortem:INC1"
    with freeze_time(walk.now):
        walk.steward.sender.click(action_id="signoff_open", value=button["value"], user=OWNER, channel="C0OPS",
                                  message=note, block_id="note_actions")
        [opened] = slack.calls_to("views.open")
        view = opened.args["view"]
        values = {"decision": {"value": {"type": "radio_buttons", "selected_option": {"value": "approve"}}},
                  "comment": {"text": {"type": "plain_text_input", "value": "Root cause understood"}}}
        other = walk.steward.sender.submit_view(callback_id="signoff_submit", user=PM, values=values,
                                                private_metadata=view["private_metadata"])
        assert other.json()["response_action"] == "errors"
        assert "Only the business owner" in other.json()["errors"]["comment"]
        for _ in range(2):  # a double submission of the same view
            response = walk.steward.sender.submit_view(callback_id="signoff_submit", user=OWNER, values=values,
                                                       private_metadata=view["private_metadata"])
            assert response.status == 200
    [signed] = signoffs(walk.steward)
    assert (signed.subject, signed.decision, signed.signer, signed.signer_role, signed.comment) == (
        "postmortem:INC1", "approve", OWNER, "business_owner", "Root cause understood")
    evidence = json.loads(signed.evidence)
    assert evidence["incident"]["resolution"] == "Fixed the currency mapping"
    walk.steward.drain()
    thread = slack.thread("C0OPS", next(m for m in slack.posts("C0OPS") if "INC1" in m["text"]
                                        and "thread_ts" not in m)["ts"])
    assert "Postmortem approved by <@UOWNER0001>" in message_text(thread[-1])


def test_export_shows_who_in_which_role_did_what_with_the_evidence_hash(walk):
    prepare_readiness(walk)
    out = io.StringIO()
    export_rows(walk.steward.engine, out, format="csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    [baseline] = [r for r in rows if r["action"] == "signoff.recorded"]
    assert (baseline["actor"], baseline["role"], baseline["target"]) == (OWNER, "business_owner", "triage")
    payload = json.loads(baseline["payload"])
    assert payload["decision"] == "approve" and len(payload["evidence_hash"]) == 64
    assert payload["evidence"]["thresholds"] == {k: float(v) for k, v in THRESHOLDS.items()}
    lines = io.StringIO()
    export_rows(walk.steward.engine, lines, format="jsonl")
    assert len(lines.getvalue().splitlines()) == len(rows)


def test_audit_command_shows_the_latest_events(walk):
    prepare_readiness(walk)
    shown = walk.type("audit triage", user=OTHER)
    assert "Latest audit events of `triage`" in shown
    assert "*signoff.recorded*" in shown and f"<@{OWNER}>" in shown
    assert "*kpi.threshold_proposed*" in shown


def test_audit_verify_cli_passes_then_catches_an_edit_and_a_rewrite(walk, slack, tmp_path):
    from tests.test_cli import run_cli

    prepare_readiness(walk)
    env = {"DATABASE_URL": walk.steward.settings.database_url, "SLACK_BOT_TOKEN": slack.token,
           "SLACK_API_URL": slack.api_url, "STEWARD_AUDIT_CHANNEL": "C0AUDIT"}
    slack.add_channel("C0AUDIT", "audit")
    runtime = walk.steward.runtime
    runtime.services.settings = runtime.services.settings.model_copy(update={"steward_audit_channel": "C0AUDIT"})
    walk.later(hours=1)
    walk.later(hours=2)  # the same day: one witness only
    assert len(slack.posts("C0AUDIT")) == 1
    ok = run_cli("audit", "verify", "--slack", env=env, cwd=tmp_path)
    assert ok.returncode == 0 and "chain intact, 1 witnessed heads match" in ok.stdout

    url = walk.steward.settings.database_url
    tamper(url, "UPDATE audit_events SET payload = replace(payload, 'approve', 'reject') "
                "WHERE action = 'signoff.recorded'")
    edited = run_cli("audit", "verify", env=env, cwd=tmp_path)
    assert edited.returncode == 1 and "BROKEN at event" in edited.stdout and "changed" in edited.stdout

    # Someone rewrites the chain consistently (rehashing every event) and deletes the witness rows:
    # only the head posted to Slack still shows it.
    from storage.audit import GENESIS, event_hash

    with Session(walk.steward.engine) as session:
        rows = list(session.exec(select(AuditEvent).order_by(AuditEvent.seq)))
    previous = GENESIS
    for row in rows:
        digest = event_hash(team_id=row.team_id, seq=row.seq, actor=row.actor, action=row.action, target=row.target,
                            payload=row.payload, created_at=row.created_at, prev_hash=previous, bindings=row.bindings)
        tamper(url, "UPDATE audit_events SET hash = :digest, prev_hash = :previous WHERE id = :id",
               digest=digest, previous=previous, id=row.id)
        previous = digest
    tamper(url, "UPDATE audit_heads SET hash = :head", "DELETE FROM audit_witnesses", head=previous)
    assert run_cli("audit", "verify", env=env, cwd=tmp_path).returncode == 0  # the database alone is fooled
    caught = run_cli("audit", "verify", "--slack", env=env, cwd=tmp_path)
    assert caught.returncode == 1 and "the history was rewritten" in caught.stdout


def audit_events(steward, action):
    with Session(steward.engine) as session:
        return [json.loads(e.payload) for e in session.exec(select(AuditEvent)) if e.action == action]


def test_a_refused_advance_shows_the_checklist_with_the_command_to_sign_and_is_audited_once(walk):
    shown = walk.type("initiative advance triage")
    assert ":x: Stage exit signed by the business owner — " \
           "`/steward signoff triage stage-exit approve` while in readiness" in shown
    [refused] = audit_events(walk.steward, "stage.advance_refused")
    assert refused["stage"] == "readiness"
    assert "Readiness: data reliability" in refused["missing"] and "Governance record" not in refused["missing"]
    assert "cannot leave Stage 1: production readiness assessment yet" in refused["reason"]

    assert "Only Steward admins and the business owner can advance" in walk.type("initiative advance triage",
                                                                                 user=PM)
    assert "There is no initiative `nosuch`" in walk.type("initiative advance nosuch")
    assert len(audit_events(walk.steward, "stage.advance_refused")) == 1  # who may not ask leaves no attempt
    assert stage(walk.steward) == "readiness"


def test_each_refused_signoff_is_audited_once_with_its_reason(walk):
    walk.type("kpi threshold triage latency 2", user=PM)
    refused = walk.type("signoff triage baseline approve")
    assert "Propose all five thresholds" in refused
    walk.type("signoff triage scope-expansion approve", user=SPONSOR)
    [baseline, scope] = audit_events(walk.steward, "signoff.refused")
    assert (baseline["subject"], baseline["decision"]) == ("baseline", "approve")
    assert baseline["reason"].startswith("Propose all five thresholds before approving the baseline; missing: ")
    assert "/steward kpi threshold triage <kpi> <value>" in baseline["reason"]
    assert scope["reason"].startswith("Scope expansion is considered only after 90 days of stable operations; "
                                      "`triage` is in readiness.")
    walk.type("signoff nosuch baseline approve")  # no initiative: nothing to attach the attempt to
    assert len(audit_events(walk.steward, "signoff.refused")) == 2
    assert signoffs(walk.steward) == []


def test_the_stage_exit_evidence_keeps_the_checklist_the_signer_saw(walk):
    prepare_readiness(walk)
    walk.type("signoff triage stage-exit approve")
    [_, exit_signoff] = signoffs(walk.steward)
    checklist = json.loads(exit_signoff.evidence)["checklist"]
    [data] = [entry for entry in checklist if entry["check"] == "Readiness: data reliability"]
    assert data["holds"] is True and data["detail"].startswith("ready")
    assert "Readiness: data reliability" in json.loads(exit_signoff.evidence)["criteria_held"]
    assert checklist[-1]["detail"] == "`/steward signoff triage stage-exit approve` while in readiness"
