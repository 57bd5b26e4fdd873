"""Pages as people receive them: their preferences, their direct-message channels, the pages sent to them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from states import IncidentStatus
from storage.inserts import insert_ignoring_duplicates
from storage.models import DirectChannel, Incident, IncidentPage, OutboxMessage, PagePreference

ALL_SEVERITIES = "*"


def preferences(*, session: Session, team_id: str, user_id: str) -> dict[str, str]:
    """severity (or `*`) -> mode (`dm` or `thread`) a person chose."""
    rows = session.exec(select(PagePreference).where(PagePreference.team_id == team_id,
                                                     PagePreference.user_id == user_id))
    return {row.severity: row.mode for row in rows}


def set_preference(*, session: Session, team_id: str, user_id: str, severities: list[str], mode: str,
                   at: datetime) -> None:
    """Record a person's choice for these severities (`*` for all; choosing for all clears the per-severity ones)."""
    existing = {row.severity: row for row in session.exec(
        select(PagePreference).where(PagePreference.team_id == team_id, PagePreference.user_id == user_id))}
    if severities == [ALL_SEVERITIES]:
        for severity, row in existing.items():
            if severity != ALL_SEVERITIES:
                session.delete(row)
    for severity in severities:
        row = existing.get(severity)
        if row is None:
            session.add(PagePreference(team_id=team_id, user_id=user_id, severity=severity, mode=mode, set_at=at))
        else:
            row.mode, row.set_at = mode, at
            session.add(row)
    session.flush()


def direct_channel(*, session: Session, team_id: str, user_id: str) -> str | None:
    return session.exec(select(DirectChannel.channel_id).where(DirectChannel.team_id == team_id,
                                                               DirectChannel.user_id == user_id)).first()


def remember_direct_channel(*, session: Session, team_id: str, user_id: str, channel_id: str, at: datetime) -> None:
    insert_ignoring_duplicates(session=session, model=DirectChannel,
                               values=dict(team_id=team_id, user_id=user_id, channel_id=channel_id, opened_at=at),
                               conflict=["team_id", "user_id"])


def record(*, session: Session, team_id: str, incident_id: int, user_id: str, via: str, level: int,
           outbox_key: str, channel_id: str, ts: str | None, at: datetime) -> bool:
    """Remember that a person was paged (once per message and person)."""
    return insert_ignoring_duplicates(
        session=session, model=IncidentPage,
        values=dict(team_id=team_id, incident_id=incident_id, user_id=user_id, via=via, level=level,
                    outbox_key=outbox_key, channel_id=channel_id, ts=ts, paged_at=at),
        conflict=["team_id", "outbox_key", "user_id"]) is not None


def direct_pages(*, session: Session, incident_id: int) -> list[IncidentPage]:
    """The direct messages (and fallback channel messages) sent for an incident, to update them in place."""
    return list(session.exec(select(IncidentPage).where(IncidentPage.incident_id == incident_id,
                                                        col(IncidentPage.via).in_(["dm", "channel"]),
                                                        col(IncidentPage.ts).is_not(None))
                             .order_by(IncidentPage.id)))


def open_for_user(*, session: Session, team_id: str, user_id: str, limit: int = 10) -> list[Incident]:
    """Unacknowledged incidents that paged this person, newest first."""
    paged = select(IncidentPage.incident_id).where(IncidentPage.team_id == team_id, IncidentPage.user_id == user_id)
    statement = (select(Incident).where(Incident.team_id == team_id, col(Incident.id).in_(paged),
                                        Incident.status == IncidentStatus.OPEN)
                 .order_by(col(Incident.declared_at).desc()).limit(limit))
    return list(session.exec(statement))


def sent_to(*, session: Session, incident_id: int) -> list[IncidentPage]:
    return list(session.exec(select(IncidentPage).where(IncidentPage.incident_id == incident_id)
                             .order_by(IncidentPage.id)))


def by_outbox_key(*, session: Session, team_id: str, outbox_key: str | None) -> IncidentPage | None:
    if not outbox_key:
        return None
    return session.exec(select(IncidentPage).where(IncidentPage.team_id == team_id,
                                                   IncidentPage.outbox_key == outbox_key)).first()


def restate_outbox_row(*, session: Session, row: OutboxMessage, channel_id: str, text: str, blocks: str,
                       user_id: str | None) -> None:
    """Write on a claimed outbox row who and where it goes to, as looked up at sending (its claim is kept)."""
    session.exec(update(OutboxMessage).where(col(OutboxMessage.id) == row.id,
                                             col(OutboxMessage.version) == row.version)
                 .values(channel_id=channel_id, text=text, blocks=blocks, user_id=user_id))
    row.channel_id, row.text, row.blocks, row.user_id = channel_id, text, blocks, user_id
