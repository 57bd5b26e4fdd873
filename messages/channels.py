"""What Steward says about the channels it posts in: not invited, removed, archived, back again."""

from __future__ import annotations

from collections.abc import Sequence

from messages.render import Message, channel_mention, render
from states import ChannelState

INVITE = "/invite @Steward"
# States in which Slack refuses Steward's messages in the channel until a person acts.
UNUSABLE = (ChannelState.NOT_IN_CHANNEL, ChannelState.ARCHIVED, ChannelState.DELETED)


def state_note(state: ChannelState, channel_id: str) -> str | None:
    """A short line saying why Steward cannot use the channel and what fixes it (None: it can)."""
    channel = channel_mention(channel_id)
    if state is ChannelState.NOT_IN_CHANNEL:
        return f":warning: *not in channel*: Steward is not a member of {channel}; type `{INVITE}` there."
    if state is ChannelState.ARCHIVED:
        return f":warning: *not in channel*: {channel} is archived; unarchive it (Steward then rejoins)."
    if state is ChannelState.DELETED:
        return f":warning: *not in channel*: {channel} was deleted; its messages cannot be delivered."
    if state is ChannelState.UNCHECKED:
        return f"Steward could not check its membership of {channel} yet; the first message there will tell."
    return None


def binding_note(state: ChannelState, channel_id: str) -> str | None:
    """Added to the reply of `initiative create`/`import` when the channel is not usable yet."""
    if state is ChannelState.NOT_IN_CHANNEL:
        return (f":warning: Steward is *not in channel* {channel_mention(channel_id)}, a private channel: "
                f"type `{INVITE}` here so that its prompts and pages can be posted. Until then they are held.")
    return state_note(state, channel_id)


def _what(state: ChannelState) -> str:
    return {ChannelState.NOT_IN_CHANNEL: "Steward was removed from it (or never invited)",
            ChannelState.ARCHIVED: "it was archived",
            ChannelState.DELETED: "it was deleted"}.get(state, "Slack refuses Steward's messages there")


def lost(channel_id: str, state: ChannelState, *, keys: Sequence[str], held: int) -> Message:
    """Direct message to a business owner: Steward can no longer post in their initiative's channel."""
    channel = channel_mention(channel_id)
    named = ", ".join(f"`{key}`" for key in keys)
    fix = {ChannelState.NOT_IN_CHANNEL: f"Type `{INVITE}` in {channel} to let it post again.",
           ChannelState.ARCHIVED: f"Unarchive {channel} to let it post again.",
           ChannelState.DELETED: "Bind the initiative to another channel, or ask a Steward admin."}.get(state, "")
    held_line = (f"{held} message{'s are' if held != 1 else ' is'} held for {channel} until then."
                 if held else "No message is waiting for it right now.")
    line = (f":warning: Steward can no longer post in {channel} ({_what(state)}), the channel of {named}. "
            f"What Slack refuses there (everything in a private channel; charts in a public one) is held. {fix}")
    return render("note", text=f"Steward can no longer post in {channel}", line=line, context_line=held_line)


def regained(channel_id: str, *, keys: Sequence[str], held: int) -> Message:
    """Direct message to a business owner: Steward is back in the channel and sends what it held."""
    channel = channel_mention(channel_id)
    named = ", ".join(f"`{key}`" for key in keys)
    line = f":white_check_mark: Steward is back in {channel}, the channel of {named}."
    context = f"{held} held message{'s are' if held != 1 else ' is'} being delivered now." if held else None
    return render("note", text=f"Steward is back in {channel}", line=line, context_line=context)
