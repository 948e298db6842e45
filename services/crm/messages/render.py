"""Message texts from the template files (templates/<kind>.j2), Chinese first with English.

Each kind's file has one block per use: `title` (the email subject, and the list's
heading), `sms` (the text of the SMS template registered with the provider), `wechat`
(the template message's fields, one `field: value` a line) and `email` (the body)."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

TEMPLATES = Path(__file__).parent / "templates"


@cache
def _environment() -> Environment:
    # Plain text on every channel; a missing variable is an error, not an empty gap in a message.
    return Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False,
                       trim_blocks=True, lstrip_blocks=True)


def _template(kind: str) -> Template:
    return _environment().get_template(f"{kind}.j2")


def _block(template: Template, name: str, variables: dict) -> str:
    return "".join(template.blocks[name](template.new_context(variables))).strip()


@dataclass(frozen=True)
class Rendered:
    title: str
    sms: str
    wechat: dict[str, str]
    email: str


def render(kind: str, variables: dict) -> Rendered:
    template = _template(kind)
    fields: dict[str, str] = {}
    for line in _block(template, "wechat", variables).splitlines():
        name, _, value = line.partition(":")
        if name.strip():
            fields[name.strip()] = value.strip()
    return Rendered(title=_block(template, "title", variables), sms=_block(template, "sms", variables),
                    wechat=fields, email=_block(template, "email", variables))


def kinds_with_templates() -> set[str]:
    return {path.stem for path in TEMPLATES.glob("*.j2")}
