"""Incident and KPI words: buttons and forms that decode, no mention a person typed, charts that fail clearly."""

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from bot.domain.kpis import KPIS, standings
from bot.domain.signoff import SubjectKind
from bot.domain.vocabulary import Role
from bot.errors import UsageError
from messages import incidents as incident_messages
from messages import kpis as kpi_messages
from messages.charts import ChartError
from messages.codec import EscalateButton, IncidentButton, ResolveForm, SignoffButton
from states import IncidentStatus

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def incident(**overrides):
    values = dict(number=3, severity="sev1", kind="performance", title="Scores <!channel> are zero",
                  status=IncidentStatus.OPEN, channel_id="C0OPS", declared_by="UPM", declared_at=T0, level_reached=1,
                  acknowledged_by=None, acknowledged_at=None, resolved_by=None, resolved_at=None, resolution=None)
    values.update(overrides)
    return SimpleNamespace(**values)


INITIATIVE = SimpleNamespace(key="churn", name="Churn <predictor>", timezone="Europe/Berlin")


def shown(message):
    return json.dumps(message.blocks, ensure_ascii=False)


def buttons(message):
    return {element["action_id"]: element["value"] for block in message.blocks if block["type"] == "actions"
            for element in block["elements"]}


def test_the_root_of_an_open_incident_carries_buttons_that_decode():
    values = buttons(incident_messages.root(incident(), INITIATIVE, level_count=4))
    assert IncidentButton.decode(values["incident_ack"]) == IncidentButton(3)
    assert IncidentButton.decode(values["incident_resolve"]) == IncidentButton(3)
    assert EscalateButton.decode(values["incident_escalate"]) == EscalateButton(3, 1)


def test_the_root_offers_what_the_status_allows():
    acknowledged = incident(status=IncidentStatus.ACKNOWLEDGED, acknowledged_by="UDATA",
                            acknowledged_at=T0 + timedelta(minutes=20))
    assert list(buttons(incident_messages.root(acknowledged, INITIATIVE, level_count=4))) == ["incident_resolve"]
    top = incident(level_reached=4)
    assert "incident_escalate" not in buttons(incident_messages.root(top, INITIATIVE, level_count=4))
    resolved = incident(status=IncidentStatus.RESOLVED, resolved_by="UDATA", resolved_at=T0 + timedelta(hours=2),
                        resolution="Rolled back <@U1>")
    message = incident_messages.root(resolved, INITIATIVE, level_count=4)
    assert buttons(message) == {}
    text = shown(message)
    assert "*Resolution*" in text and "&lt;@U1&gt;" in text and "<@UDATA>" in text


def test_a_resolved_sev1_asks_the_owner_for_a_postmortem_with_a_button_that_decodes():
    note = incident_messages.resolved_note(incident(), key="churn", by="UDATA", took=timedelta(minutes=95),
                                           resolution="Retrained\n<!here>", postmortem=True, owner="UOWNER")
    text = shown(note)
    assert "Resolved by <@UDATA> after 1 h 35 min." in text
    assert "&lt;!here&gt;" in text and "<!here>" not in text  # the resolution cannot ping the channel
    assert "<@UOWNER>: a sev1 needs a postmortem sign-off" in text
    button = SignoffButton.decode(buttons(note)["signoff_open"])
    assert button.key == "churn" and button.subject.kind is SubjectKind.POSTMORTEM and button.subject.number == 3


def test_a_postmortem_request_says_when_the_business_owner_is_vacant():
    note = incident_messages.resolved_note(incident(), key="churn", by="UDATA", took=timedelta(minutes=5),
                                           resolution="Fixed", postmortem=True, owner=None)
    assert "Business owner (vacant: assign one)" in shown(note)


def test_a_minor_resolution_has_no_button_and_no_postmortem_request():
    note = incident_messages.resolved_note(incident(severity="sev3"), key="churn", by="UDATA",
                                           took=timedelta(minutes=5), resolution="Fixed", postmortem=False, owner="U")
    assert buttons(note) == {} and "postmortem" not in shown(note)


def test_the_resolve_form_carries_the_incident_and_the_channel_to_answer_in():
    view = incident_messages.resolve_form(incident(), channel_id="C0123", max_length=2000)
    assert ResolveForm.decode(view["private_metadata"]) == ResolveForm(3, "C0123")
    assert view["callback_id"] == "incident_resolve"
    assert ResolveForm.decode(incident_messages.resolve_form(incident(), channel_id=None,
                                                             max_length=2000)["private_metadata"]).channel_id is None


def test_a_tampered_resolve_form_is_refused_with_a_sentence():
    with pytest.raises(UsageError, match="could not be read"):
        ResolveForm.decode("INC3|<!channel>")


def test_the_declared_reply_names_the_first_level():
    reply = incident_messages.declared_reply(incident(), key="churn",
                                             first_level=(Role.MLOPS_ENGINEER, Role.IT_OWNER))
    assert "pages the MLOps engineer, the IT owner now." in shown(reply)


def test_refusals_name_the_incident_and_who_got_there_first():
    assert incident_messages.only_role_holders(key="churn", verb="resolve", number=3) == (
        "Only people holding a role on `churn` can resolve INC3. `/steward initiative show churn` lists them.")
    done = incident(status=IncidentStatus.RESOLVED, resolved_by="UDATA", resolved_at=T0)
    assert incident_messages.already_done(done, timezone="Europe/Berlin") == (
        "INC3 was already resolved by <@UDATA> on Mon 02 Mar 2026 15:00 Europe/Berlin.")
    assert incident_messages.escalation_stopped(3, IncidentStatus.ACKNOWLEDGED) == (
        "INC3 is acknowledged; escalation has stopped.")


def test_the_incident_summary_escapes_titles_and_keeps_the_last_five_unresolved():
    rows = [incident(number=n) for n in range(1, 8)]
    lines = incident_messages.summary_lines(declared=9, unresolved=rows, median_to_ack=timedelta(minutes=4),
                                            median_to_resolve=None)
    assert lines[0] == ("*Incidents*: 9 declared, 7 not resolved · median time to acknowledge 4 min · median time "
                        "to resolve —")
    assert [line.split()[1] for line in lines[1:]] == ["INC3", "INC4", "INC5", "INC6", "INC7"]
    assert "&lt;!channel&gt;" in lines[1] and "open" in lines[1]


def test_standing_lines_show_the_value_the_threshold_and_the_verdict():
    rows = standings({"task-completion": 90, "latency": 2}, {"task-completion": 93.5, "latency": 2.5})
    lines = {row.kpi.name: kpi_messages.standing_line(row) for row in rows}
    assert lines["task-completion"] == ":white_check_mark: within task completion rate: 93.5% (≥ 90%)"
    assert lines["latency"] == ":x: *outside* decision latency: 2.5 s (≤ 2 s)"
    assert lines["adoption"] == ":white_circle: user adoption rate: no measurement (no threshold in force)"


def test_a_breach_title_and_a_recovery_note_say_value_and_threshold():
    latency = KPIS["latency"]
    title = kpi_messages.breach_title(latency, value=3, threshold=2)
    assert title == "Decision latency 3 s breaches its threshold ≤ 2 s"
    note = kpi_messages.recovered(latency, incident_number=4, note="recovered:9", value=1.5, threshold=2)
    assert "Decision latency is back within its threshold: 1.5 s (≤ 2 s). Resolve INC4" in shown(note)


def test_a_silence_prompt_names_the_engineer_or_says_the_role_is_vacant():
    silent = [KPIS["latency"], KPIS["adoption"]]
    named = shown(kpi_messages.silence_prompt(silent, key="churn", engineer="UDATA", days=7))
    assert "<@UDATA>, no measurement of decision latency (`latency`), user adoption rate (`adoption`)" in named
    vacant = shown(kpi_messages.silence_prompt(silent, key="churn", engineer=None, days=7))
    assert "The data engineer role is *vacant*, so whoever reads this: no measurement of" in vacant


def test_a_value_the_chart_cannot_draw_raises_chart_error():
    series = {"latency": [(T0, 1e308)]}  # `/steward kpi record churn latency 1e308`, no threshold in force
    with pytest.raises(ChartError, match="cannot be drawn"):
        kpi_messages.trend_chart(series, {}, kpis=list(KPIS.values()), key="churn", name="Churn", days=90, until=T0)


def test_an_ordinary_chart_is_a_png_named_for_the_initiative_and_day():
    series = {"latency": [(T0, 1.0), (T0 + timedelta(days=1), 1.5)]}
    png, filename, title = kpi_messages.trend_chart(series, {"latency": 2.0}, kpis=list(KPIS.values()), key="churn",
                                                    name="Churn", days=90, until=T0 + timedelta(days=1))
    assert png.startswith(b"\x89PNG") and filename == "churn-kpis-2026-03-03.png" and title == "KPI trends of churn"


# Issue 15: direct pages, the fallback, severity changes, the Home tab's open pages

from bot.domain.escalation import Level  # noqa: E402
from messages import pages as page_messages  # noqa: E402
from messages.render import check_limits  # noqa: E402


def test_page_placeholders_are_filled_with_todays_holders_or_say_vacant():
    text = f"{page_messages.holder(Role.MLOPS_ENGINEER)} and {page_messages.holder(Role.PRODUCT_MANAGER)}"
    assert page_messages.fill_holders(text, {"mlops_engineer": "UML"}) == "<@UML> and nobody (vacant now)"
    assert json.loads(page_messages.fill_holders(json.dumps([{"t": text}]), {})) == [
        {"t": "nobody (vacant now) and nobody (vacant now)"}]


def test_a_direct_page_escapes_what_people_typed_and_drops_its_buttons_once_acknowledged():
    link = page_messages.thread_link("C0OPS", "1772460000.000100")
    assert link == "https://slack.com/archives/C0OPS/p1772460000000100"
    opened = page_messages.direct_page(incident(), INITIATIVE, why="You are paged.", link=link, level_count=4)
    check_limits(opened)
    body = json.dumps(opened.blocks[1:])  # the header is plain_text: Slack formats nothing there
    assert "<!channel>" not in body and "Churn &lt;predictor&gt;" in body
    assert "&lt;!channel&gt;" in opened.text
    actions = next(b for b in opened.blocks if b["type"] == "actions")["elements"]
    assert [a["action_id"] for a in actions] == ["incident_ack", "incident_escalate"]
    assert IncidentButton.decode(actions[0]["value"]).number == 3
    assert EscalateButton.decode(actions[1]["value"]).seen_level == 1
    acked = page_messages.direct_page(incident(status=IncidentStatus.ACKNOWLEDGED, acknowledged_by="UDE",
                                               acknowledged_at=T0 + timedelta(minutes=7)),
                                      INITIATIVE, why="You are paged.", link=link, level_count=4)
    assert not [b for b in acked.blocks if b["type"] == "actions"]
    assert "Acknowledged by <@UDE> after 7 min" in json.dumps(acked.blocks)


def test_the_fallback_note_and_the_home_block_say_who_and_escape_titles():
    note = page_messages.fallback_thread(incident(), number=2, level=Level(3, 30, (Role.BUSINESS_OWNER,)),
                                         people=["UADM"], channels=["CESC"], every=30)
    line = note.blocks[0]["text"]["text"]
    assert "(repeat 2). Paging level 3 again: @@holder:business_owner@@ (business owner)." in line
    assert "Fallback: <@UADM>, <#CESC>." in line
    blocks = page_messages.home_blocks([(incident(), INITIATIVE)])
    assert blocks[0]["text"]["text"] == "Your open pages"
    assert "&lt;!channel&gt;" in blocks[1]["text"]["text"] and blocks[1]["accessory"]["value"] == "INC3"
    assert page_messages.home_blocks([]) == []
