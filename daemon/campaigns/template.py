"""``{{name}}`` substitution in a campaign's text (pure).

Deliberately not a template engine: a placeholder is a variable name and nothing else, values
are plain text inserted in one pass (a value that itself contains ``{{other}}`` stays literal,
so a recipient's data can never expand into more of the template), and control characters in
values are dropped. Anything else that starts with ``{{`` is refused, so a typo such as
``{{ first name }}`` is a 400 when the campaign is created, not a literal in 100,000 messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]{0,63})\s*\}\}")
MAX_VALUE_CHARS = 1024
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class TemplateError(ValueError):
    """The template or a value is malformed (the message says where)."""


def variables_of(template: str) -> frozenset[str]:
    """The variable names a template uses; raises TemplateError for a malformed ``{{``."""
    names = set()
    position = 0
    for match in PLACEHOLDER.finditer(template):
        if "{{" in template[position : match.start()]:
            raise TemplateError(_malformed(template, position, match.start()))
        names.add(match.group(1))
        position = match.end()
    if "{{" in template[position:]:
        raise TemplateError(_malformed(template, position, len(template)))
    return frozenset(names)


def _malformed(template: str, start: int, end: int) -> str:
    at = template.index("{{", start, end)
    snippet = template[at : at + 24]
    return f"malformed placeholder at character {at}: {snippet!r} (use {{{{name}}}})"


def clean_value(name: str, value: object) -> str:
    """A variable's value as the text inserted (numbers become text); raises TemplateError."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise TemplateError(f"variable {name!r} must be a string or a number")
    text = _CONTROL.sub("", str(value))
    if len(text) > MAX_VALUE_CHARS:
        raise TemplateError(f"variable {name!r} is longer than {MAX_VALUE_CHARS} characters")
    return text


def render(template: str, values: Mapping[str, str]) -> str:
    """The template with every placeholder replaced (one pass); raises KeyError for a
    variable without a value (the caller checked them all before)."""
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


__all__ = ["MAX_VALUE_CHARS", "TemplateError", "clean_value", "render", "variables_of"]
