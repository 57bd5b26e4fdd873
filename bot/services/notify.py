"""Tell one person something privately, through the outbox (buttons have no ack body to answer in)."""

from __future__ import annotations

import uuid

from bot.outbox import queue_message
from bot.services.context import Actor, Services
from messages.render import Message
from storage.db import session_scope


def tell(services: Services, actor: Actor, message: Message) -> None:
    """Queue a message only the actor sees, in the channel they acted in (none: nowhere to say it)."""
    if not actor.channel_id:
        return
    with session_scope(services.engine) as session:
        queue_message(session=session, team_id=actor.team_id, key=f"ephemeral:{uuid.uuid4().hex}",
                      channel_id=actor.channel_id, message=message, purpose="ephemeral", method="chat.postEphemeral",
                      user_id=actor.user_id, at=actor.now)
    services.notify_outbox()
