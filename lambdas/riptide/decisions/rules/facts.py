"""What conditions and templates read: the shopper's profile, the page, the site's trends.

A fact is a dotted path under one of three roots: `profile.<path>` into the profile as the read
API presents it (riptide.profiles.view), plus the derived `profile.topCategory`;
`page.<path>` into the decide request's `context.page`; `trends.<path>` into the site's trends
document. A digit segment indexes a list (`trends.trending.0.productId`). A segment may hold
`{fact}` templates (`trends.byCategory.{profile.topCategory}`). A fact that is missing or null
is absent: looking it up never raises.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from riptide.decisions.rules.problems import Problems, is_number

ROOTS = ("profile", "page", "trends")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()
"""What a lookup answers for an absent fact (JSON null included)."""


def top_category(profile: dict[str, Any]) -> Any:
    """The category of highest affinity (the first of equals), or MISSING when none."""
    affinity = profile.get("categoryAffinity")
    scores = (
        [(category, score) for category, score in affinity.items() if is_number(score)]
        if isinstance(affinity, dict)
        else []
    )
    return max(scores, key=lambda item: item[1])[0] if scores else MISSING


DERIVED_PROFILE: dict[str, Callable[[dict[str, Any]], Any]] = {"topCategory": top_category}
"""Profile facts computed from the presented profile rather than read from it."""


@dataclass(frozen=True, slots=True)
class Facts:
    """One decision's facts: `profile` as riptide.profiles.view presents it (None for a shopper
    without one), the request's page context, and the site's trends document (None if none)."""

    profile: dict[str, Any] | None
    page: dict[str, Any]
    trends: dict[str, Any] | None

    def lookup(self, path: Sequence[str]) -> Any:
        """The value at `path` (its first segment a root), or MISSING."""
        value: Any = getattr(self, path[0])
        rest = path[1:]
        if path[0] == "profile" and rest and rest[0] in DERIVED_PROFILE and value is not None:
            value = DERIVED_PROFILE[rest[0]](value)
            rest = rest[1:]
        for segment in rest:
            value = _step(value, segment)
            if value is MISSING:
                return MISSING
        return MISSING if value is None else value


def _step(value: Any, segment: str) -> Any:
    if isinstance(value, dict):
        return value.get(segment, MISSING)
    if isinstance(value, list) and segment.isascii() and segment.isdigit():
        position = int(segment)
        return value[position] if position < len(value) else MISSING
    return MISSING


@dataclass(frozen=True, slots=True)
class Template:
    """Text with `{fact}` placeholders; rendered only when each fact is a string or integer."""

    parts: tuple[str | Fact, ...]

    def render(self, facts: Facts) -> str | None:
        if len(self.parts) == 1 and isinstance(self.parts[0], str):
            return self.parts[0]
        rendered: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                rendered.append(part)
                continue
            value = part.value(facts)
            if isinstance(value, bool) or not isinstance(value, str | int):
                return None
            rendered.append(str(value))
        return "".join(rendered)

    @property
    def placeholders(self) -> bool:
        return any(isinstance(part, Fact) for part in self.parts)

    def could_render(self, text: str) -> bool:
        """Whether some facts would render this template as `text`."""
        pattern = "".join(re.escape(part) if isinstance(part, str) else ".+" for part in self.parts)
        return re.fullmatch(pattern, text) is not None


@dataclass(frozen=True, slots=True)
class Fact:
    """A fact's path: its root, then segments that may hold templates."""

    root: str
    segments: tuple[Template, ...]

    def value(self, facts: Facts) -> Any:
        path = [self.root]
        for segment in self.segments:
            rendered = segment.render(facts)
            if rendered is None:
                return MISSING
            path.append(rendered)
        return facts.lookup(path)


def parse_template(text: str, path: str, problems: Problems) -> Template | None:
    """`text` as a template: literal text and `{fact}` placeholders (not nested)."""
    parts: list[str | Fact] = []
    rest = text
    while rest:
        start = rest.find("{")
        stray = rest.find("}")
        if stray != -1 and (start == -1 or stray < start):
            problems.add(path, f"unmatched '}}' in '{text}'")
            return None
        if start == -1:
            parts.append(rest)
            break
        end = rest.find("}", start)
        if end == -1 or "{" in rest[start + 1 : end]:
            problems.add(path, f"unmatched '{{' in '{text}'")
            return None
        if start:
            parts.append(rest[:start])
        fact = parse_fact(rest[start + 1 : end], path, problems)
        if fact is None:
            return None
        parts.append(fact)
        rest = rest[end + 1 :]
    return Template(tuple(parts) or ("",))


def parse_fact(text: str, path: str, problems: Problems) -> Fact | None:
    """`text` as a fact path ("profile.cart.value"); segments may hold templates."""
    segments = _split_outside_braces(text)
    root, rest = segments[0], segments[1:]
    if root not in ROOTS or not rest:
        problems.add(
            path, f"unknown fact '{text}': a fact is profile.<path>, page.<path> or trends.<path>"
        )
        return None
    if not all(rest):
        problems.add(path, f"fact '{text}' has an empty segment")
        return None
    templates = [parse_template(segment, path, problems) for segment in rest]
    if any(template is None for template in templates):
        return None
    return Fact(root, tuple(t for t in templates if t is not None))


def _split_outside_braces(text: str) -> list[str]:
    segments = [""]
    depth = 0
    for character in text:
        if character == "." and depth == 0:
            segments.append("")
            continue
        depth += {"{": 1, "}": -1}.get(character, 0)
        segments[-1] += character
    return segments
