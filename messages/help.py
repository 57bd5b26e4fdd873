"""The help card: every command's form, the role names and the stages."""

from __future__ import annotations

from bot.domain.vocabulary import ROLE_ALIASES, Stage
from messages.render import Message, render

# How a usage line writes "mention a person here" (Slack shows a typed @name as <@U…>).
PERSON = "<@user>"


def commands(usages: list[str]) -> Message:
    """List the commands' forms (from the command table), the roles and the stages one may name."""
    return render("help", usages=usages, roles=list(ROLE_ALIASES),
                  stages=[stage.value for stage in Stage if stage is not Stage.RETIRED])
