"""Settings: bad values stop start-up with one line naming the variable."""

import pytest

from bot.config import load_settings
from bot.errors import ConfigError


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("STEWARD_PORT", "abc", "STEWARD_PORT:"),
        ("STEWARD_PORT", "70000", "STEWARD_PORT:"),
        ("STEWARD_TIMEZONE", "Mars/Olympus", "STEWARD_TIMEZONE: unknown time zone"),
        ("SLACK_BOT_TOKEN", "xoxp-user-token", "SLACK_BOT_TOKEN: not a bot token"),
        ("SLACK_APP_TOKEN", "xoxb-wrong-kind", "SLACK_APP_TOKEN: not an app-level token"),
        ("SLACK_API_URL", "slack.com/api", "SLACK_API_URL: not an http(s) URL"),
        ("DATABASE_URL", "mysql://u:secret@db/steward", "DATABASE_URL: only SQLite and PostgreSQL"),
        ("DATABASE_URL", "::::", "DATABASE_URL: not a database URL"),
        ("STEWARD_ADMINS", "U012ABCDEF,dana", "STEWARD_ADMINS: 'dana' is not a Slack user id"),
        ("STEWARD_CONFIG", "/no/such/file.yaml", "STEWARD_CONFIG: no such file"),
    ],
)
def test_bad_values_give_one_line_naming_the_variable(monkeypatch, variable, value, expected):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as caught:
        load_settings(_env_file=None)
    message = str(caught.value)
    assert message.startswith(expected)
    assert "\n" not in message
    assert "secret" not in message  # a password in a URL is never echoed


def test_defaults_and_parsing(monkeypatch):
    monkeypatch.setenv("STEWARD_ADMINS", " U012ABCDEF , W034GHIJKL ")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    settings = load_settings(_env_file=None)
    assert settings.steward_admins == {"U012ABCDEF", "W034GHIJKL"}
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"
    assert settings.database_url == "sqlite:///steward.db"
    assert settings.steward_port == 3000 and settings.steward_timezone == "UTC"
    assert settings.missing_slack_credentials() == ["SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"]


def test_socket_mode_needs_no_signing_secret(monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-1")
    settings = load_settings(_env_file=None)
    assert settings.socket_mode and settings.missing_slack_credentials() == []


def test_dotenv_file_is_read(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("STEWARD_PORT=4100\nSTEWARD_TIMEZONE=Europe/Berlin\n")
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert (settings.steward_port, settings.steward_timezone) == (4100, "Europe/Berlin")


def test_the_example_env_file_loads_once_the_credentials_are_filled_in(tmp_path, monkeypatch):
    from pathlib import Path

    example = (Path(__file__).resolve().parents[1] / ".env.example").read_text()
    filled = example.replace("SLACK_BOT_TOKEN=\n", "SLACK_BOT_TOKEN=xoxb-1\n").replace(
        "SLACK_SIGNING_SECRET=\n", "SLACK_SIGNING_SECRET=s3cret\n")
    (tmp_path / ".env").write_text(filled)
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.slack_bot_token.get_secret_value() == "xoxb-1" and settings.steward_port == 3000
    assert settings.steward_slack_history_per_minute is None and settings.steward_slack_post_burst == 3
