"""An organization's cadence overrides (STEWARD_CONFIG): applied, and refused clearly when wrong."""

from datetime import time

import pytest

from bot.domain.vocabulary import Role
from bot.errors import ConfigError
from bot.org_config import load_cadence


def write(tmp_path, text):
    path = tmp_path / "steward.yaml"
    path.write_text(text)
    return path


def test_overrides_change_only_what_they_name(tmp_path):
    cadence = load_cadence(write(tmp_path, """
post_at: "09:30"
reminder_days: [2, 5]
cadence:
  readiness-checkin: {enabled: false}
  monthly-performance-review:
    mention: [owner, pm, data]
    completed_by: [pm]
  quarterly-retraining-assessment: {every_months: 2}
"""))
    assert cadence.post_at == time(9, 30) and cadence.reminder_days == (2, 5)
    assert cadence.rule("readiness-checkin").enabled is False
    monthly = cadence.rule("monthly-performance-review")
    assert monthly.mention == (Role.BUSINESS_OWNER, Role.PRODUCT_MANAGER, Role.DATA_ENGINEER)
    assert monthly.completers() == (Role.PRODUCT_MANAGER,)
    assert cadence.rule("quarterly-retraining-assessment").every_months == 2
    assert cadence.rule("annual-scope-planning").every_months == 12


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("cadence: {weekly-standup: {enabled: true}}", "'weekly-standup' is not a review kind"),
        ("cadence: {monthly-performance-review: {mention: [boss]}}", "'boss' is not a role"),
        ("cadence: {monthly-performance-review: {every_months: 0}}", "every_months"),
        ("post_at: '25:00'", "post_at"),
        ("reminder_days: [7, 3]", "increasing"),
        ("colour: blue", "colour"),
        ("cadence: [oops", "cannot read"),
    ],
)
def test_bad_files_are_one_clear_line(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as caught:
        load_cadence(write(tmp_path, text))
    message = str(caught.value)
    assert message.startswith("STEWARD_CONFIG:") and fragment in message and "\n" not in message


def test_steward_run_refuses_a_bad_cadence_file(tmp_path):
    from tests.test_cli import run_cli

    path = write(tmp_path, "cadence: {nope: {}}")
    result = run_cli("run", cwd=tmp_path, env={"STEWARD_CONFIG": str(path), "SLACK_BOT_TOKEN": "xoxb-x",
                                               "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": "http://127.0.0.1:9/api/"})
    assert result.returncode == 2
    assert "configuration error: STEWARD_CONFIG:" in result.stderr and "Traceback" not in result.stderr
