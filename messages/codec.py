"""What Steward's buttons and forms carry to Slack and back: one typed value per action, encoded and decoded here.

Templates encode with these classes and listeners decode with them, so the two never drift. A value
that does not decode (altered in transit, or left on a message by an older version) raises
UsageError with a sentence for the person, never an exception from deep inside a flow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from bot.domain.signoff import Subject, parse_subject
from bot.errors import UsageError

# Action ids (buttons) and callback ids (forms): the names listeners register under.
REVIEW_DONE = "review_done"
INCIDENT_ACK = "incident_ack"
INCIDENT_RESOLVE = "incident_resolve"
INCIDENT_ESCALATE = "incident_escalate"
SIGNOFF_OPEN = "signoff_open"
RESOLVE_FORM = "incident_resolve"
SIGNOFF_FORM = "signoff_submit"
REVIEW_FORM = "review_answers"  # issue 17: Mark done opens the review's questions

MAX_VALUE = 2000  # Slack's limit for a button value; private_metadata allows 3000

_REVIEW = re.compile(r"^R(\d{1,9})$")
_INCIDENT = re.compile(r"^INC(\d{1,9})$")
_ESCALATE = re.compile(r"^INC(\d{1,9}):(\d{1,3})$")
_KEY = re.compile(r"^[a-z][a-z0-9-]{1,39}$")
_CHANNEL = re.compile(r"^(?:[CGD][A-Z0-9]{2,30})?$")
# A click's response_url, carried in the form it opens (a form submission has none of its own).
_REPLY_URL = re.compile(r"^https?://[^\s|]{1,400}$")


def attach_reply_url(view: dict, url: str | None) -> dict:
    """The form `view` carrying the click's response_url in its private_metadata, so its submission can answer
    privately where the click was made (no channel membership needed). Unchanged when there is none."""
    metadata = view.get("private_metadata")
    if not url or not metadata or not _REPLY_URL.match(url):
        return view
    return {**view, "private_metadata": f"{metadata}|{url}"}


def _reply_url(parts: list[str], count: int) -> str | None:
    """The response_url after the `count` fields of a form's metadata, if one was attached and looks like one."""
    if len(parts) == count + 1 and _REPLY_URL.match(parts[count]):
        return parts[count]
    return None


def _stale(what: str, fallback: str) -> UsageError:
    return UsageError(f"This {what} could not be read: it was altered or comes from an older version of Steward. "
                      f"Use {fallback} instead.")


def _subject(text: str, what: str, fallback: str) -> Subject:
    subject = parse_subject(text)
    if subject is None:
        raise _stale(what, fallback)
    return subject


@dataclass(frozen=True)
class ReviewButton:
    """Mark done on a review prompt."""

    number: int
    what: ClassVar[str] = "Mark done button"

    def encode(self) -> str:
        return f"R{self.number}"

    @classmethod
    def decode(cls, value: object) -> ReviewButton:
        match = _REVIEW.match(str(value or ""))
        if match is None:
            raise _stale(cls.what, "`/steward review done R<n>`")
        return cls(int(match.group(1)))


@dataclass(frozen=True)
class IncidentButton:
    """Acknowledge or Resolve on an incident's messages."""

    number: int
    what: ClassVar[str] = "incident button"

    def encode(self) -> str:
        return f"INC{self.number}"

    @classmethod
    def decode(cls, value: object) -> IncidentButton:
        match = _INCIDENT.match(str(value or ""))
        if match is None:
            raise _stale(cls.what, "`/steward incident ack INC<n>` or `/steward incident resolve INC<n> ...`")
        return cls(int(match.group(1)))


@dataclass(frozen=True)
class EscalateButton:
    """Escalate now: carries the level its message showed, so a stale click cannot page twice."""

    number: int
    seen_level: int
    what: ClassVar[str] = "Escalate now button"

    def encode(self) -> str:
        return f"INC{self.number}:{self.seen_level}"

    @classmethod
    def decode(cls, value: object) -> EscalateButton:
        match = _ESCALATE.match(str(value or ""))
        if match is None:
            raise _stale(cls.what, "the Escalate now button on the incident's latest message")
        return cls(int(match.group(1)), int(match.group(2)))


@dataclass(frozen=True)
class SignoffButton:
    """Sign off…: which initiative and subject the form is for."""

    key: str
    subject: Subject
    what: ClassVar[str] = "sign-off button"

    def encode(self) -> str:
        return f"{self.key}|{self.subject}"

    @classmethod
    def decode(cls, value: object) -> SignoffButton:
        key, sep, subject = str(value or "").partition("|")
        fallback = "`/steward signoff <key> <subject> approve|reject`"
        if not sep or not _KEY.match(key):
            raise _stale(cls.what, fallback)
        return cls(key, _subject(subject, cls.what, fallback))


def _numbered(value: object, number: re.Pattern, what: str, fallback: str) -> tuple[int, str | None, str | None]:
    """(number, channel, reply url) of "<INC|R><n>|<channel>[|<reply url>]"; a stale form's error otherwise."""
    parts = str(value or "").split("|")
    match = number.match(parts[0])
    channel = parts[1] if len(parts) > 1 else ""
    if match is None or len(parts) > 3 or not _CHANNEL.match(channel):
        raise _stale(what, fallback)
    return int(match.group(1)), channel or None, _reply_url(parts, 2)


@dataclass(frozen=True)
class ResolveForm:
    """The resolve form's private_metadata: the incident and the channel to answer in."""

    number: int
    channel_id: str | None
    reply_url: str | None = None  # the Resolve click's response_url (attach_reply_url)
    what: ClassVar[str] = "resolve form"

    def encode(self) -> str:
        return f"INC{self.number}|{self.channel_id or ''}" + (f"|{self.reply_url}" if self.reply_url else "")

    @classmethod
    def decode(cls, value: object) -> ResolveForm:
        return cls(*_numbered(value, _INCIDENT, cls.what, "`/steward incident resolve INC<n> <resolution...>`"))


@dataclass(frozen=True)
class SignoffForm:
    """The sign-off form's private_metadata: initiative, subject, and the channel to answer in."""

    key: str
    subject: Subject
    channel_id: str | None
    reply_url: str | None = None  # the Sign off click's response_url (attach_reply_url)
    what: ClassVar[str] = "sign-off form"

    def encode(self) -> str:
        return f"{self.key}|{self.subject}|{self.channel_id or ''}" + (f"|{self.reply_url}" if self.reply_url else "")

    @classmethod
    def decode(cls, value: object) -> SignoffForm:
        parts = str(value or "").split("|")
        fallback = "`/steward signoff <key> <subject> approve|reject`"
        if len(parts) not in (3, 4) or not _KEY.match(parts[0]) or not _CHANNEL.match(parts[2]):
            raise _stale(cls.what, fallback)
        return cls(parts[0], _subject(parts[1], cls.what, fallback), parts[2] or None, _reply_url(parts, 3))


@dataclass(frozen=True)
class ReviewForm:
    """The review form's private_metadata: the review, and the channel to answer in (issue 17)."""

    number: int
    channel_id: str | None
    reply_url: str | None = None  # the Mark done click's response_url (attach_reply_url)
    what: ClassVar[str] = "review form"

    def encode(self) -> str:
        return f"R{self.number}|{self.channel_id or ''}" + (f"|{self.reply_url}" if self.reply_url else "")

    @classmethod
    def decode(cls, value: object) -> ReviewForm:
        return cls(*_numbered(value, _REVIEW, cls.what, "`/steward review done R<n> [notes...]`"))
