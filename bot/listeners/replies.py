"""The one place a flow's outcome or refusal becomes the reply a person sees."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

from bot.errors import StewardError
from messages.render import Message, render

log = logging.getLogger(__name__)


def run_flow(flow: Callable[[], Message]) -> Message:
    """Run a flow; a StewardError becomes its message for the person, a bug an apology with a reference."""
    try:
        return flow()
    except StewardError as error:
        return render("error", message=error.message, usage=error.usage)
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("flow failed (reference %s)", reference)
        return render("error", message=f"Something went wrong inside Steward and nothing was changed. "
                      f"Tell your Steward admin the reference `{reference}`.", usage=None)
