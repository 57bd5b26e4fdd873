"""The pilot's artifacts (issue 17): `/steward artifact <key> <kind> <link or text...>`.

The seed: the pilot phase "generates the documentation artifacts needed for this controlled launch, including user
acceptance criteria, edge case inventories, and failure mode logs. If your pilot did not produce these artifacts,
week six through eight of Stage 2 should be used to reconstruct them retroactively".
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.commands import MAX_EVIDENCE, _free_text, _key, _shown
from bot.domain.gates import PILOT_ARTIFACTS
from bot.errors import UsageError


@dataclass(frozen=True)
class ArtifactRecord:
    key: str
    kind: str
    content: str


def parse_artifact(tokens: list[str], usage: str) -> ArtifactRecord:
    key = _key(tokens[0] if tokens else None, usage)
    if len(tokens) < 2:
        raise UsageError("The artifact is missing: " + ", ".join(f"`{kind}`" for kind in PILOT_ARTIFACTS) + ".",
                         usage=usage)
    kind = tokens[1].lower()
    if kind not in PILOT_ARTIFACTS:
        raise UsageError(f"`{_shown(tokens[1])}` is not a pilot artifact. Artifacts: "
                         + ", ".join(f"`{kind}`" for kind in PILOT_ARTIFACTS) + ".", usage=usage)
    content = _free_text(tokens[2:], usage, what="text", limit=MAX_EVIDENCE)
    if not content:
        raise UsageError(f"The {PILOT_ARTIFACTS[kind]} needs a link or a short text.", usage=usage)
    return ArtifactRecord(key, kind, content)
