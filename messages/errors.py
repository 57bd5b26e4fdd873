"""What a person sees when Steward refuses or fails."""

from __future__ import annotations

from messages.render import Message, render


def refusal(message: str, usage: str | None) -> Message:
    """A refusal that says what was wrong and, for bad syntax, the right form."""
    return render("error", message=message, usage=usage)


def apology(reference: str) -> str:
    """The sentence apologising for a bug, with the reference that finds it in the log."""
    return ("Something went wrong inside Steward and nothing was changed. "
            f"Tell your Steward admin the reference `{reference}`.")


def unexpected(reference: str) -> Message:
    """An apology for a bug, as a reply."""
    return render("error", message=apology(reference), usage=None)


def form_error(message: str) -> str:
    """A refusal shown under a form's field (Slack cuts these at 150 characters)."""
    return message if len(message) <= 150 else message[:149] + "…"


def form_not_opened(error: str) -> Message:
    """A button's form that Slack would not open in time (rate-limited, slow): nothing changed, try again."""
    return render("error", message=f"Slack did not open the form (`{error}`); nothing was changed. Click the button "
                                   "again in a moment, or type the matching `/steward` command.", usage=None)
