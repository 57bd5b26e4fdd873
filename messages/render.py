"""Render a message kind from its Jinja2 template into Block Kit, checked against Slack's limits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from states import Stage

TEMPLATES = Path(__file__).parent / "templates"

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_HEADER_TEXT = 150
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_FALLBACK_TEXT = 4000


class MessageTooLarge(ValueError):
    """A rendered message breaks one of Slack's Block Kit limits."""


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict]

    def blocks_json(self) -> str:
        return json.dumps(self.blocks, ensure_ascii=False, separators=(",", ":"))


def mrkdwn_escape(value: object) -> str:
    """Escape text a person typed so it cannot mention, link or format as Slack markup."""
    text = str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


STAGE_TITLES = {
    Stage.READINESS: "Stage 1: production readiness assessment",
    Stage.HANDOFF: "Stage 2: ownership transfer",
    Stage.LAUNCH: "Stage 3: controlled production launch",
    Stage.OPERATIONS: "Stage 4: full production operations",
    Stage.RETIRED: "Retired",
}


def stage_title(stage: Stage | str) -> str:
    """The framework's name of a stage (`Stage 2: ownership transfer`)."""
    return STAGE_TITLES[Stage(stage)]


def user_mention(user_id: str | None) -> str:
    if user_id in ("alertmanager", "grafana"):  # a monitor resolved it, not a person (issue 16)
        return user_id.capitalize()
    return f"<@{user_id}>" if user_id else "_vacant_"


def channel_mention(channel_id: str) -> str:
    return f"<#{channel_id}>"


def local_time(moment: datetime | None, zone: str = "UTC", fmt: str = "%a %d %b %Y %H:%M") -> str:
    """Show a UTC moment in a zone, naming the zone (`Mon 05 Jan 2026 10:00 Europe/Berlin`)."""
    if moment is None:
        return "—"
    return f"{moment.astimezone(ZoneInfo(zone)).strftime(fmt)} {zone}"


def duration(value) -> str:
    """A timedelta the way people say it: `40 s`, `4 min`, `2 h 10 min`, `3 d 2 h`."""
    if value is None:
        return "—"
    if value.total_seconds() < 60:
        return f"{max(0, int(value.total_seconds()))} s"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min"


def truncate(value: object, limit: int) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        # The templates ship with the code: no stat of the template file on every render.
        auto_reload=False,
    )
    env.filters["mrkdwn"] = mrkdwn_escape
    env.filters["user"] = user_mention
    env.filters["channel"] = channel_mention
    env.filters["local"] = local_time
    env.filters["truncate_to"] = truncate
    env.filters["duration"] = duration
    env.filters["stage_title"] = stage_title
    env.policies["json.dumps_kwargs"] = {"ensure_ascii": False, "sort_keys": False}
    return env


def render(name: str, **context) -> Message:
    """Render `templates/<name>.json.j2` into a message and check it against Slack's limits."""
    source = _environment().get_template(f"{name}.json.j2").render(**context)
    try:
        document = json.loads(source)
    except json.JSONDecodeError as exc:
        raise ValueError(f"template {name} produced invalid JSON: {exc}") from exc
    message = Message(text=document["text"], blocks=document.get("blocks", []))
    check_limits(message, name)
    return message


MAX_VIEW_BLOCKS = 100


def render_view(name: str, **context) -> dict:
    """Render a modal or Home tab view from `templates/<name>.json.j2`, checked against Slack's limits."""
    source = _environment().get_template(f"{name}.json.j2").render(**context)
    view = json.loads(source)
    if len(view.get("blocks", [])) > MAX_VIEW_BLOCKS:
        raise MessageTooLarge(f"{name}: {len(view['blocks'])} blocks, at most {MAX_VIEW_BLOCKS} in a view")
    check_limits(Message(text=view.get("title", {}).get("text", name), blocks=[]), name)
    for block in view.get("blocks", []):
        check_limits(Message(text=name, blocks=[block]), name)
    return view


def check_limits(message: Message, name: str = "message") -> None:
    """Raise MessageTooLarge when a message breaks a Block Kit limit Slack would reject."""
    if not message.text or len(message.text) > MAX_FALLBACK_TEXT:
        raise MessageTooLarge(f"{name}: fallback text must be 1 to {MAX_FALLBACK_TEXT} characters")
    if len(message.blocks) > MAX_BLOCKS:
        raise MessageTooLarge(f"{name}: {len(message.blocks)} blocks, at most {MAX_BLOCKS}")
    for index, block in enumerate(message.blocks):
        where = f"{name} block {index}"
        kind = block.get("type")
        if kind == "section":
            text = block.get("text", {}).get("text", "")
            if len(text) > MAX_SECTION_TEXT:
                raise MessageTooLarge(f"{where}: section text {len(text)} > {MAX_SECTION_TEXT}")
            fields = block.get("fields", [])
            if len(fields) > MAX_SECTION_FIELDS:
                raise MessageTooLarge(f"{where}: {len(fields)} fields > {MAX_SECTION_FIELDS}")
            for field in fields:
                if len(field.get("text", "")) > MAX_FIELD_TEXT:
                    raise MessageTooLarge(f"{where}: field text > {MAX_FIELD_TEXT}")
            if "accessory" in block:
                _check_element(block["accessory"], where)
        elif kind == "header":
            if len(block["text"]["text"]) > MAX_HEADER_TEXT:
                raise MessageTooLarge(f"{where}: header text > {MAX_HEADER_TEXT}")
        elif kind == "actions":
            if len(block["elements"]) > MAX_ACTIONS_ELEMENTS:
                raise MessageTooLarge(f"{where}: {len(block['elements'])} elements > {MAX_ACTIONS_ELEMENTS}")
            for element in block["elements"]:
                _check_element(element, where)
        elif kind == "context":
            if len(block["elements"]) > MAX_CONTEXT_ELEMENTS:
                raise MessageTooLarge(f"{where}: {len(block['elements'])} elements > {MAX_CONTEXT_ELEMENTS}")
            for element in block["elements"]:
                if len(element.get("text", "")) > MAX_SECTION_TEXT:
                    raise MessageTooLarge(f"{where}: context text > {MAX_SECTION_TEXT}")


def _check_element(element: dict, where: str) -> None:
    if element.get("type") == "button":
        if len(element["text"]["text"]) > MAX_BUTTON_TEXT:
            raise MessageTooLarge(f"{where}: button text > {MAX_BUTTON_TEXT}")
        if len(element.get("value", "")) > MAX_BUTTON_VALUE:
            raise MessageTooLarge(f"{where}: button value > {MAX_BUTTON_VALUE}")
