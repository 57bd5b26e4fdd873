"""Find what a command names, or refuse with a message that says how to find the right one."""

from __future__ import annotations

from bot.errors import NotFound
from storage import repository
from storage.models import Initiative


def require_initiative(session, *, team_id: str, key: str) -> Initiative:
    """Return the initiative or raise NotFound naming the key."""
    initiative = repository.get_initiative(session=session, team_id=team_id, key=key)
    if initiative is None:
        raise NotFound(f"There is no initiative `{key}` in this workspace. `/steward initiative list` shows them.")
    return initiative
