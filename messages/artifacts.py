"""What Steward says about the pilot's artifacts (issue 17)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.domain.gates import PILOT_ARTIFACTS, DistributionOnRecord
from messages.render import Message, mrkdwn_escape, render, user_mention

SEED = ("The pilot's user acceptance criteria, edge-case inventory and failure-mode log carry the launch; if the "
        "pilot did not produce them, weeks 6 to 8 of the handoff reconstruct them.")


def _standing(on_record: Mapping[str, object], key: str) -> str:
    return "\n".join(f":white_check_mark: {label}" if kind in on_record else
                     f":white_circle: {label}: `/steward artifact {key} {kind} <link or text...>`"
                     for kind, label in PILOT_ARTIFACTS.items())


def recorded(*, key: str, kind: str, replaced: bool, on_record: Mapping[str, object]) -> Message:
    """The reply to the person who recorded an artifact, with the three as they now stand."""
    verb = "Replaced" if replaced else "Recorded"
    return render("note", text=f"{PILOT_ARTIFACTS[kind].capitalize()} recorded",
                  line=f"{verb} the *{PILOT_ARTIFACTS[kind]}* of `{key}`.\n" + _standing(on_record, key),
                  context_line=SEED)


def notice(*, key: str, kind: str, actor: str, content: str) -> Message:
    """The notice in the initiative's channel."""
    return render("note", text=f"{PILOT_ARTIFACTS[kind].capitalize()} recorded on {key}",
                  line=f":bookmark_tabs: {user_mention(actor)} recorded the *{PILOT_ARTIFACTS[kind]}* of `{key}`:\n>"
                       + mrkdwn_escape(content).replace("\n", "\n>"),
                  context_line=None)


def show_lines(on_record: Mapping[str, object], key: str) -> list[str]:
    """`initiative show`: the pilot's artifacts on record and those missing."""
    return ["*Pilot artifacts*", _standing(on_record, key)]


def reconstruct_prompt(*, key: str, missing: Sequence[str], people: Sequence[str | None]) -> Message:
    """Three weeks into handoff: the artifacts still missing, to reconstruct in weeks 6 to 8."""
    who = " ".join(user_mention(person) for person in people if person) or "Product manager and pilot lead"
    lines = "\n".join(f"• {PILOT_ARTIFACTS[kind]}: `/steward artifact {key} {kind} <link or text...>`"
                      for kind in missing)
    return render("note", text=f"Pilot artifacts missing for {key}",
                  line=f":bookmark_tabs: {who}: the handoff of `{key}` cannot end without the pilot's artifacts. "
                       f"Still missing:\n{lines}",
                  context_line=SEED)


def distribution_lines(found: DistributionOnRecord) -> list[str]:
    """`initiative show`: the data distribution comparison the readiness `data` dimension rests on."""
    if not found.computed:
        return ["*Data distribution comparison*", f"given as the `data` readiness evidence on {found.on.isoformat()}"]
    shifted = f"shifted: {', '.join(found.shifted)}" if found.shifted else "none shifted"
    return ["*Data distribution comparison*", f"{found.on.isoformat()}: {found.columns} columns, {shifted}"]
