"""Find what a command names, or refuse with a message that says how to find the right one."""

from __future__ import annotations

from bot.domain import permissions
from bot.errors import NotFound, PermissionDenied
from messages import initiatives as initiative_messages
from storage import repository
from storage.models import Initiative


def require_initiative(session, *, team_id: str, key: str) -> Initiative:
    """Return the initiative or raise NotFound naming the key."""
    initiative = repository.get_initiative(session=session, team_id=team_id, key=key)
    if initiative is None:
        raise NotFound(initiative_messages.not_found(key))
    return initiative


def require_record_keeper(session, *, user_id: str, admins: frozenset[str], initiative: Initiative,
                          what: str) -> None:
    """Refuse unless the person holds a role on the initiative or is a Steward admin."""
    roles = repository.active_roles(session=session, initiative_id=initiative.id)
    if not permissions.may_edit_records(user_id, admins, roles):
        raise PermissionDenied(initiative_messages.only_record_keepers(initiative.key, what))
