"""Settings read from the environment and `.env`, refusing bad values with one clear line."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")

# What each variable should look like, for the one-line error.
_EXPECTED = {
    "SLACK_BOT_TOKEN": "a bot token starting with xoxb-",
    "SLACK_SIGNING_SECRET": "the app's signing secret (Basic Information > App Credentials)",
    "SLACK_APP_TOKEN": "an app-level token starting with xapp-",
    "SLACK_API_URL": "an http(s) URL such as https://slack.com/api/",
    "DATABASE_URL": "a SQLAlchemy URL such as sqlite:///steward.db or postgresql+psycopg://user:pw@host/db",
    "STEWARD_PORT": "a whole number from 1 to 65535 (0 picks a free port)",
    "STEWARD_ADMINS": "comma-separated Slack user ids such as U012ABCDEF,U034GHIJKL",
    "STEWARD_TIMEZONE": "an IANA time zone such as Europe/Berlin or UTC",
    "STEWARD_CONFIG": "the path of an existing cadence/escalation override file",
    "STEWARD_SWEEP_SECONDS": "a whole number of seconds from 5 to 3600",
    "STEWARD_AUDIT_CHANNEL": "a Slack channel id such as C012ABCDEF",
    "STEWARD_SLACK_POST_INTERVAL": "seconds between Steward's posts in one channel, from 0.1 to 60",
    "STEWARD_SLACK_POST_BURST": "how many posts one channel takes at once, from 1 to 50",
    "STEWARD_SLACK_HISTORY_PER_MINUTE": "conversations.history calls a minute (1 for a non-Marketplace app)",
    "STEWARD_LOG_FORMAT": "text (readable, the default) or json (one object per line)",
}


class Settings(BaseSettings):
    """Everything Steward reads from its environment."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", case_sensitive=False)

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = "sqlite:///steward.db"
    steward_port: int = Field(default=3000, ge=0, le=65535)
    steward_admins: Annotated[frozenset[str], NoDecode] = frozenset()
    steward_timezone: str = "UTC"
    steward_config: Path | None = None
    steward_sweep_seconds: int = Field(default=60, ge=5, le=3600)
    steward_audit_channel: str | None = Field(default=None, pattern=r"^[CG][A-Z0-9]{2,}$")
    # The outbox's pace (bot/pacing.py): Slack allows about one post a second per channel, short bursts.
    steward_slack_post_interval: float = Field(default=1.0, ge=0.1, le=60)
    steward_slack_post_burst: int = Field(default=3, ge=1, le=50)
    steward_slack_history_per_minute: int | None = Field(default=None, ge=1, le=100)
    steward_log_format: str = Field(default="text", pattern=r"^(text|json)$")  # json: one object per line
    # Monitors (issue 16): Prometheus's HTTP API for KPI sources; the URL pipelines reach Steward at (heartbeats).
    prometheus_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    prometheus_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    steward_public_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    # Paging services (issue 15 point 6): PagerDuty's Events API v2 address (tests point it at a local server).
    pagerduty_events_url: str = Field(default="https://events.pagerduty.com/v2/enqueue", pattern=r"^https?://[^\s]+$")

    @field_validator("slack_bot_token", "slack_signing_secret", "slack_app_token", "steward_config",
                     "steward_audit_channel", "steward_slack_history_per_minute", "prometheus_url",
                     "steward_public_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value):
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("slack_bot_token")
    @classmethod
    def _bot_token(cls, value: SecretStr | None):
        if value is not None and not value.get_secret_value().startswith("xoxb-"):
            raise ValueError("not a bot token")
        return value

    @field_validator("slack_app_token")
    @classmethod
    def _app_token(cls, value: SecretStr | None):
        if value is not None and not value.get_secret_value().startswith("xapp-"):
            raise ValueError("not an app-level token")
        return value

    @field_validator("slack_signing_secret")
    @classmethod
    def _signing_secret(cls, value: SecretStr | None):
        if value is not None and re.search(r"\s", value.get_secret_value()):
            raise ValueError("contains white space")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        parsed = urlparse(value.strip())
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError("not an http(s) URL")
        # slack_sdk joins method names onto the base URL, so it must end with a slash.
        return value.strip().rstrip("/") + "/"

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            url = make_url(value.strip())
        except ArgumentError as exc:
            raise ValueError("not a database URL") from exc
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            raise ValueError("only SQLite and PostgreSQL are supported")
        return value.strip()

    @field_validator("steward_admins", mode="before")
    @classmethod
    def _admins(cls, value):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        for user_id in value:
            if not _USER_ID.match(user_id):
                raise ValueError(f"{user_id!r} is not a Slack user id")
        return frozenset(value)

    @field_validator("steward_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("steward_config")
    @classmethod
    def _config_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("no such file")
        return value

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    def missing_slack_credentials(self) -> list[str]:
        """Return the Slack variables `steward run` still needs, in the order to fix them."""
        missing = []
        if self.slack_bot_token is None:
            missing.append("SLACK_BOT_TOKEN")
        if not self.socket_mode and self.slack_signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET")
        return missing


def load_settings(**overrides) -> Settings:
    """Build the settings, turning any validation failure into one ConfigError line."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        error = exc.errors()[0]
        variable = str(error["loc"][0]).upper() if error["loc"] else "configuration"
        expected = _EXPECTED.get(variable, "a valid value")
        given = error.get("input")
        secret = any(word in variable for word in ("TOKEN", "SECRET", "DATABASE"))
        shown = "" if secret or not isinstance(given, str) else f" (got {given!r})"
        reason = error["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{variable}: {reason}{shown}; expected {expected}") from None
