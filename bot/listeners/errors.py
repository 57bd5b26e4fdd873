"""The one handler for what escapes a listener (its flow is guarded by the runner; this is Slack or the database)."""

from __future__ import annotations

import json
import logging
import uuid

from slack_bolt import BoltResponse

from messages import errors as error_messages

log = logging.getLogger(__name__)


def answer_anyway(error: Exception, body: dict) -> BoltResponse:
    """Log the error under a reference and answer Slack: the apology for a command, an empty 200 otherwise."""
    reference = uuid.uuid4().hex[:8]
    log.error("listener failed outside its flow (reference %s)", reference, exc_info=error)
    if body.get("command"):
        apology = error_messages.unexpected(reference)
        payload = {"response_type": "ephemeral", "text": apology.text, "blocks": apology.blocks}
        return BoltResponse(status=200, body=json.dumps(payload), headers={"content-type": "application/json"})
    # A button was acked before its flow ran; a form's flow had succeeded, so closing the form is right.
    return BoltResponse(status=200, body="")
