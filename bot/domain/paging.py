"""Paging people directly: who wants a direct message for which severity, and the commands that say so.

`/steward me pages dm|thread [sev1..sev4]` and `/steward incident severity INC3 <sev1..sev4> [reason]`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.commands import MAX_COMMENT, _free_text, _shown, incident_number
from bot.domain.escalation import Severity
from bot.errors import UsageError

DM, THREAD = "dm", "thread"
ALL = "*"
# Default: a direct message for sev1 to sev3, the thread only for sev4.
DEFAULT_MODES: dict[str, str] = {Severity.SEV1.value: DM, Severity.SEV2.value: DM, Severity.SEV3.value: DM,
                                 Severity.SEV4.value: THREAD}


def mode_for(preferences: dict[str, str], severity: str) -> str:
    """How a person is paged for a severity: their choice for it, else their overall choice, else the default."""
    return preferences.get(severity) or preferences.get(ALL) or DEFAULT_MODES[severity]


def modes(preferences: dict[str, str]) -> dict[str, str]:
    return {severity.value: mode_for(preferences, severity.value) for severity in Severity}


@dataclass(frozen=True)
class PagePreferenceSet:
    mode: str | None  # dm or thread; None: only show the preferences
    severities: tuple[str, ...]  # empty: every severity


@dataclass(frozen=True)
class IncidentSeverityChange:
    number: int
    severity: Severity
    reason: str | None = None


def parse_page_preference(tokens: list[str], usage: str) -> PagePreferenceSet:
    if not tokens:
        return PagePreferenceSet(None, ())  # show how the person is paged now
    mode = tokens[0].lower()
    if mode not in (DM, THREAD):
        raise UsageError(f"`{_shown(tokens[0])}` is not a way to be paged: use `dm` or `thread`.", usage=usage)
    severities = []
    for token in tokens[1:]:
        try:
            severities.append(Severity(token.lower()).value)
        except ValueError:
            raise UsageError(f"`{_shown(token)}` is not a severity: use sev1 to sev4.", usage=usage) from None
    return PagePreferenceSet(mode, tuple(dict.fromkeys(severities)))


def parse_severity_change(tokens: list[str], usage: str) -> IncidentSeverityChange:
    number = incident_number(tokens[0] if tokens else None, usage)
    if len(tokens) < 2:
        raise UsageError("The new severity is missing.", usage=usage)
    try:
        severity = Severity(tokens[1].lower())
    except ValueError:
        raise UsageError(f"`{_shown(tokens[1])}` is not a severity: use sev1 (worst) to sev4.", usage=usage) from None
    reason = _free_text(tokens[2:], usage, what="reason", limit=MAX_COMMENT)
    return IncidentSeverityChange(number, severity, reason)

