"""Bearer tokens for KPI ingestion: only a SHA-256 of each token is stored."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import ApiToken, Initiative


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(*, session: Session, initiative: Initiative, created_by: str, at: datetime) -> tuple[str, ApiToken]:
    """Return the new token (shown once) and its row."""
    token = "stw_" + secrets.token_urlsafe(32)
    row = ApiToken(team_id=initiative.team_id, initiative_id=initiative.id, token_hash=digest(token),
                   prefix=token[:10], created_by=created_by, created_at=at)
    session.add(row)
    session.flush()
    return token, row


def find_active(*, session: Session, token: str) -> ApiToken | None:
    return session.exec(select(ApiToken).where(ApiToken.token_hash == digest(token),
                                               col(ApiToken.revoked_at).is_(None))).first()


def revoke_all(*, session: Session, initiative: Initiative, at: datetime) -> int:
    result = session.exec(update(ApiToken).where(col(ApiToken.initiative_id) == initiative.id,
                                                 col(ApiToken.revoked_at).is_(None)).values(revoked_at=at))
    return result.rowcount
