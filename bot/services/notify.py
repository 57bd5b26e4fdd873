"""Tell one person something privately, through the outbox (buttons have no ack body to answer in).

A click or form submission answers through the action's response_url: it needs no membership of the
channel (chat.postEphemeral does), and lands where the person clicked. chat.postEphemeral is used only
where no response_url is known.
"""

from __future__ import annotations

import uuid

from bot.outbox import queue_message
from bot.services.context import Actor, Services
from messages.render import Message
from storage.db import session_scope


def tell(services: Services, actor: Actor, message: Message, *, reply_url: str | None = None) -> None:
    """Queue a message only the actor sees: through `reply_url` when given, else ephemerally in their channel."""
    if reply_url:
        options = {"method": "response_url", "reply_url": reply_url, "channel_id": actor.channel_id or ""}
    elif actor.channel_id:
        options = {"method": "chat.postEphemeral", "channel_id": actor.channel_id}
    else:
        return  # nowhere to say it
    with session_scope(services.engine) as session:
        queue_message(session=session, team_id=actor.team_id, key=f"ephemeral:{uuid.uuid4().hex}", message=message,
                      purpose="ephemeral", user_id=actor.user_id, at=actor.now, **options)
    services.notify_outbox()
