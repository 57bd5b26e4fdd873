"""Steward's Slack listeners, each a named function, registered the way slack-bolt's starter template does."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App, BoltContext

from bot.listeners import actions, commands, events, views
from bot.listeners.errors import answer_anyway
from bot.services.context import Services


def register(app: App, services: Services) -> None:
    """Hand every listener the services (its `services` argument), then register them all."""

    def provide_services(context: BoltContext, next_: Callable[[], None]) -> None:
        context["services"] = services
        next_()

    app.use(provide_services)
    app.error(answer_anyway)
    commands.register(app)
    actions.register(app)
    views.register(app)
    events.register(app)
