"""What Steward says about signals from monitors: alerts in incident threads, Prometheus KPI sources."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from messages.render import Message, duration, local_time, mrkdwn_escape, render


class AlertLike(Protocol):
    name: str
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    generator_url: str | None
    dashboard_url: str | None
    silence_url: str | None


class SourceLike(Protocol):
    kpi: str
    query: str
    interval_minutes: int
    last_run_at: datetime | None
    last_value: float | None
    last_error: str | None
    last_error_at: datetime | None


def _note(text: str, line: str, *, context_line: str | None = None) -> Message:
    return render("note", text=text, line=line, context_line=context_line)


def _link(url: str | None, label: str) -> str | None:
    # A URL is put in <url|label> form; `|`, `<` and `>` would break it, so such URLs are shown escaped instead.
    if not url:
        return None
    if any(ch in url for ch in "|<>"):
        return f"{label}: {mrkdwn_escape(url)}"
    return f"<{url}|{label}>"


def alert_links(alert: AlertLike) -> str:
    links = [_link(alert.generator_url, "source"), _link(alert.dashboard_url, "dashboard"),
             _link(alert.silence_url, "silence")]
    return " · ".join(link for link in links if link)


def alert_details(alert: AlertLike, *, incident_number: int, source: str, truncated: int) -> Message:
    """The first reply in an alert's incident thread: what fired, with its links and labels."""
    labels = ", ".join(f"`{mrkdwn_escape(k)}={mrkdwn_escape(v)[:80]}`" for k, v in sorted(alert.labels.items())[:15])
    description = alert.annotations.get("description") or alert.annotations.get("message")
    lines = [f":satellite_antenna: Opened by {source} alert *{mrkdwn_escape(alert.name)}* "
             f"(fingerprint `{mrkdwn_escape(alert.fingerprint)}`)."]
    if description:
        lines.append(mrkdwn_escape(description)[:1500])
    links = alert_links(alert)
    if links:
        lines.append(links)
    if truncated:
        lines.append(f":warning: {source} left {truncated} more alert{'s' if truncated != 1 else ''} of this group "
                     "out of the notification (max_alerts); see the source for all of them.")
    return _note(f"INC{incident_number}: alert {alert.name}", "\n".join(lines),
                 context_line=f"Labels: {labels}" if labels else None)


def still_firing(alert: AlertLike, *, incident_number: int, since: datetime, now: datetime) -> Message:
    return _note(f"INC{incident_number}: {alert.name} still firing",
                 f":repeat: {mrkdwn_escape(alert.name)} is still firing ({duration(now - since)} since it opened "
                 f"INC{incident_number}). Steward notes this at most once an hour.")


def firing_again(alert: AlertLike, *, incident_number: int) -> Message:
    return _note(f"INC{incident_number}: {alert.name} firing again",
                 f":rotating_light: {mrkdwn_escape(alert.name)} is firing again.")


def alert_resolved(alert: AlertLike, *, incident_number: int, source: str, resolving: bool,
                   acknowledged: bool) -> Message:
    if resolving:
        tail = f"Nobody had acknowledged INC{incident_number}, so Steward resolves it."
    elif acknowledged:
        tail = f"INC{incident_number} was acknowledged, so it stays open: resolve it when you are satisfied."
    else:
        tail = f"Resolve INC{incident_number} when you are satisfied."
    return _note(f"INC{incident_number}: {alert.name} resolved",
                 f":white_check_mark: {source} reports *{mrkdwn_escape(alert.name)}* resolved. {tail}")


def auto_resolution(alert: AlertLike, *, source: str) -> str:
    return f"{source} reported the alert {alert.name} resolved before anyone acknowledged the incident."


# -- Prometheus sources ---------------------------------------------------------------------------------------


def source_set(*, key: str, kpi_label: str, kpi: str, query: str, minutes: int, configured: bool,
               replaced: bool) -> Message:
    verb = "now replaces the earlier query" if replaced else "is now the source"
    where = "" if configured else (" Set `PROMETHEUS_URL` for Steward to evaluate it (nothing is queried until "
                                   "then).")
    return _note(f"Prometheus source for {key} {kpi}",
                 f":satellite: For `{key}`, this PromQL {verb} of the {kpi_label} (`{kpi}`), evaluated "
                 f"every {_every(minutes)}:\n```{_code(query)}```{where}",
                 context_line=f"The result must be one sample; it is recorded with source `prometheus` and judged "
                              f"like any other measurement. Remove it with `/steward kpi source {key} {kpi} none`.")


def source_removed(*, key: str, kpi: str) -> Message:
    return _note(f"Prometheus source removed for {key} {kpi}",
                 f"`{key}` {kpi} is no longer read from Prometheus.")


def no_source(*, key: str, kpi: str) -> str:
    return f"`{key}` has no Prometheus source for `{kpi}`."


def source_lines(sources: Sequence[SourceLike], *, zone: str) -> list[str]:
    """`initiative show`: each Prometheus source with its query, its last value, and any error it is in."""
    lines = []
    for source in sources:
        head = f"• `{source.kpi}` every {_every(source.interval_minutes)}: `{_code(source.query)[:300]}`"
        if source.last_error:
            head += (f"\n    :warning: failing since {local_time(source.last_error_at, zone)}: "
                     f"{mrkdwn_escape(source.last_error)[:300]}")
        elif source.last_run_at is not None:
            head += f"\n    last read {local_time(source.last_run_at, zone)}: {source.last_value:g}"
        else:
            head += "\n    not read yet"
        lines.append(head)
    return lines


def _every(minutes: int) -> str:
    return "hour" if minutes == 60 else f"{minutes} min"


def _code(query: str) -> str:
    return mrkdwn_escape(query).replace("`", "'")
