"""Flows for the API tokens an operator creates and revokes from the command line, and the check of one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot.errors import NotFound, PermissionDenied
from bot.services.context import Services
from bot.services.lookup import require_initiative
from storage import repository, tokens
from storage.audit import append_event
from storage.db import read_scope, session_scope
from storage.models import ApiToken, Initiative


def initiative_token(session: Session, *, token: str, key: str) -> tuple[ApiToken, Initiative]:
    """An initiative's token and the initiative: NotFound for an unknown or revoked token, PermissionDenied for
    another initiative's (the KPI and distribution APIs)."""
    row = tokens.find_active(session=session, token=token)
    if row is None:
        raise NotFound("unknown or revoked token")
    initiative = repository.get_initiative(session=session, team_id=row.team_id, key=key)
    if initiative is None or initiative.id != row.initiative_id:
        raise PermissionDenied(f"this token is not for initiative {key!r}")
    return row, initiative


def authorize(services: Services, *, token: str, key: str) -> None:
    """`initiative_token`'s refusals, reading only: checked before a request's body is looked at."""
    with read_scope(services.engine) as session:
        initiative_token(session, token=token, key=key)


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once: only its SHA-256 is stored
    prefix: str


def create(services: Services, *, team_id: str, key: str, by: str, now: datetime) -> IssuedToken:
    """Create a bearer token for one initiative's KPIs and audit it (by its prefix, never the token)."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=team_id, key=key)
        token, row = tokens.create(session=session, initiative=initiative, created_by=by, at=now)
        append_event(session=session, team_id=initiative.team_id, actor=by, action="api_token.created",
                     target=initiative.key, payload={"prefix": row.prefix}, at=now)
        return IssuedToken(token=token, prefix=row.prefix)


def revoke(services: Services, *, team_id: str, key: str, by: str, now: datetime) -> int:
    """Revoke every active token of an initiative and audit how many; return that count."""
    with session_scope(services.engine) as session:
        initiative = require_initiative(session, team_id=team_id, key=key)
        count = tokens.revoke_all(session=session, initiative=initiative, at=now)
        append_event(session=session, team_id=initiative.team_id, actor=by, action="api_token.revoked",
                     target=initiative.key, payload={"count": count}, at=now)
    return count


def create_integration(services: Services, *, team_id: str | None, by: str, now: datetime) -> IssuedToken:
    """Create a workspace integration token (alert webhooks for any initiative of the workspace) and audit it.

    Without a team id, the one workspace that has initiatives; NotFound when there is none or several.
    """
    from storage import alerts as alert_rows

    with session_scope(services.engine) as session:
        if team_id is None:
            found = alert_rows.workspaces(session=session)
            if len(found) != 1:
                raise NotFound("no workspace has initiatives yet" if not found else
                               f"initiatives are in several workspaces ({', '.join(found)}): pick one with --team")
            team_id = found[0]
        token, row = alert_rows.create_integration_token(session=session, team_id=team_id, created_by=by, at=now)
        append_event(session=session, team_id=team_id, actor=by, action="integration_token.created",
                     target=team_id, payload={"prefix": row.prefix}, at=now)
        return IssuedToken(token=token, prefix=row.prefix)


def revoke_integration(services: Services, *, team_id: str, by: str, now: datetime) -> int:
    """Revoke every integration token of a workspace and audit how many."""
    from storage import alerts as alert_rows

    with session_scope(services.engine) as session:
        count = alert_rows.revoke_integration_tokens(session=session, team_id=team_id, at=now)
        append_event(session=session, team_id=team_id, actor=by, action="integration_token.revoked",
                     target=team_id, payload={"count": count}, at=now)
    return count
