"""Queries over pipeline heartbeats: only a SHA-256 of each heartbeat's secret token is stored."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import PipelineHeartbeat
from storage.tokens import digest


def new_token() -> str:
    return "hb_" + secrets.token_urlsafe(24)


def add(*, session: Session, heartbeat: PipelineHeartbeat) -> PipelineHeartbeat:
    session.add(heartbeat)
    session.flush()
    return heartbeat


def named(*, session: Session, initiative_id: int, name: str) -> PipelineHeartbeat | None:
    return session.exec(select(PipelineHeartbeat).where(PipelineHeartbeat.initiative_id == initiative_id,
                                                        PipelineHeartbeat.name == name)).first()


def by_token(*, session: Session, token: str) -> PipelineHeartbeat | None:
    return session.exec(select(PipelineHeartbeat).where(PipelineHeartbeat.token_hash == digest(token))).first()


def of_initiative(*, session: Session, initiative_id: int) -> list[PipelineHeartbeat]:
    return list(session.exec(select(PipelineHeartbeat).where(PipelineHeartbeat.initiative_id == initiative_id)
                             .order_by(PipelineHeartbeat.name)))


def due(*, session: Session, now: datetime, limit: int = 500) -> list[PipelineHeartbeat]:
    return list(session.exec(select(PipelineHeartbeat).where(col(PipelineHeartbeat.due_at) <= now)
                             .order_by(PipelineHeartbeat.due_at).limit(limit)))


def get(*, session: Session, heartbeat_id: int) -> PipelineHeartbeat | None:
    return session.get(PipelineHeartbeat, heartbeat_id)


def save(*, session: Session, heartbeat: PipelineHeartbeat) -> None:
    session.add(heartbeat)
    session.flush()


def delete(*, session: Session, heartbeat: PipelineHeartbeat) -> None:
    session.delete(heartbeat)
    session.flush()
