"""Contents: what a placement can show, by id, and how a rule's content id picks one.

A content is a payload (any JSON object, handed to the page as it is) and optionally products
read from a fact list (`{"from": "trends.byCategory.{profile.topCategory}", "limit": 4}`),
added to the payload as `products`. A rule's content id may hold `{fact}` templates
("hero-{profile.topCategory}"): it applies only when the id it renders is declared.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from riptide.decisions.rules.facts import Fact, Facts, Template, parse_fact, parse_template
from riptide.decisions.rules.problems import Problems, key

MAX_PRODUCTS = 100


@dataclass(frozen=True, slots=True)
class Products:
    source: Fact
    limit: int

    def read(self, facts: Facts) -> list[Any]:
        found = self.source.value(facts)
        return found[: self.limit] if isinstance(found, list) else []


@dataclass(frozen=True, slots=True)
class Content:
    id: str
    payload: dict[str, Any]
    products: Products | None = None

    def payload_for(self, facts: Facts, *, need_products: bool) -> dict[str, Any] | None:
        """The payload to show, products included; None when `need_products` and none."""
        if self.products is None:
            return self.payload
        products = self.products.read(facts)
        if need_products and not products:
            return None
        return {**self.payload, "products": products}


@dataclass(frozen=True, slots=True)
class ContentRef:
    """A rule's content id, perhaps with templates, or a placement's fallback."""

    template: Template
    text: str

    def resolve(self, contents: Mapping[str, Content], facts: Facts) -> Content | None:
        content_id = self.template.render(facts)
        return None if content_id is None else contents.get(content_id)


def parse_contents(value: Any, path: str, problems: Problems) -> dict[str, Content]:
    entries = problems.mapping(value, path)
    if not entries:
        if entries is not None:
            problems.add(path, "must declare at least one content")
        return {}
    contents: dict[str, Content] = {}
    for content_id, entry in entries.items():
        content = _parse_content(content_id, entry, key(path, content_id), problems)
        if content is not None:
            contents[content_id] = content
    return contents


def _parse_content(content_id: str, value: Any, path: str, problems: Problems) -> Content | None:
    fields = problems.object(value, path, optional=("payload", "products"))
    if fields is None:
        return None
    payload = fields.get("payload", {})
    if not isinstance(payload, dict):
        problems.add(key(path, "payload"), "must be an object")
        return None
    products = None
    if "products" in fields:
        products = _parse_products(fields["products"], key(path, "products"), problems)
        if products is None:
            return None
        if "products" in payload:
            problems.add(key(path, "payload"), "'products' is filled from the products field")
            return None
    return Content(content_id, payload, products)


def _parse_products(value: Any, path: str, problems: Problems) -> Products | None:
    fields = problems.object(value, path, required=("from", "limit"))
    if fields is None or "from" not in fields or "limit" not in fields:
        return None
    text = problems.string(fields["from"], key(path, "from"))
    source = None if text is None else parse_fact(text, key(path, "from"), problems)
    limit = problems.number(
        fields["limit"], key(path, "limit"), low=1, high=MAX_PRODUCTS, integer=True
    )
    if source is None or limit is None:
        return None
    return Products(source, int(limit))


def parse_content_ref(
    value: Any,
    path: str,
    declared: Collection[str],
    problems: Problems,
    *,
    templates: bool = True,
) -> ContentRef | None:
    """A content id naming a declared content; with templates, one some facts could render."""
    text = problems.string(value, path)
    if text is None:
        return None
    template = parse_template(text, path, problems)
    if template is None:
        return None
    if template.placeholders and not templates:
        problems.add(path, f"must name a content, without templates: '{text}'")
        return None
    if not any(template.could_render(content_id) for content_id in declared):
        problems.add(path, f"unknown content '{text}'")
        return None
    return ContentRef(template, text)
