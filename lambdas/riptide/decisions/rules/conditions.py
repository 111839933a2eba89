"""Conditions: tests of one fact each, combined with all / any / not. Data, never code.

A test is {"fact": "<path>", "<operator>": <operand>} with exactly one operator. A test of an
absent fact fails, whatever the operator, except `exists: false`; `not` negates that like any
other answer. Operators that compare order (gt, gte, lt, lte) compare numbers only; the time
operators read the fact as an ISO 8601 time (UTC when it names no offset).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from riptide.decisions.rules.facts import MISSING, Fact, Facts, parse_fact
from riptide.decisions.rules.problems import Problems, index, is_number, key, type_name

COMBINATORS = ("all", "any", "not")
MAX_DEPTH = 16
"""Most conditions nested in one another: deeper is a mistake, and it bounds evaluation."""


class Condition(Protocol):
    def holds(self, facts: Facts, now_ms: int) -> bool: ...


@dataclass(frozen=True, slots=True)
class Always:
    """A rule without `when`."""

    def holds(self, facts: Facts, now_ms: int) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class AllOf:
    conditions: tuple[Condition, ...]

    def holds(self, facts: Facts, now_ms: int) -> bool:
        return all(condition.holds(facts, now_ms) for condition in self.conditions)


@dataclass(frozen=True, slots=True)
class AnyOf:
    conditions: tuple[Condition, ...]

    def holds(self, facts: Facts, now_ms: int) -> bool:
        return any(condition.holds(facts, now_ms) for condition in self.conditions)


@dataclass(frozen=True, slots=True)
class Not:
    condition: Condition

    def holds(self, facts: Facts, now_ms: int) -> bool:
        return not self.condition.holds(facts, now_ms)


def _equal(value: Any, operand: Any) -> bool:
    """JSON equality: a boolean never equals a number."""
    return isinstance(value, bool) == isinstance(operand, bool) and value == operand


def _contains(value: Any, operand: Any) -> bool:
    if isinstance(value, list):
        return any(_equal(item, operand) for item in value)
    if isinstance(value, str | dict):
        return isinstance(operand, str) and operand in value
    return False


def _age_ms(value: Any, now_ms: int) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return now_ms - moment.timestamp() * 1000


def _ordered(compare: Callable[[float, float], bool]) -> Callable[[Any, Any, int], bool]:
    return lambda value, operand, _: is_number(value) and compare(value, operand)


def _older(value: Any, seconds: Any, now_ms: int) -> bool:
    age = _age_ms(value, now_ms)
    return age is not None and age > seconds * 1000


def _within(value: Any, seconds: Any, now_ms: int) -> bool:
    age = _age_ms(value, now_ms)
    return age is not None and age <= seconds * 1000


def _any_value(operand: Any, path: str, problems: Problems) -> bool:
    return True


def _number(operand: Any, path: str, problems: Problems) -> bool:
    return problems.number(operand, path) is not None


def _seconds(operand: Any, path: str, problems: Problems) -> bool:
    return problems.number(operand, path, low=0) is not None


def _boolean(operand: Any, path: str, problems: Problems) -> bool:
    if not isinstance(operand, bool):
        problems.add(path, f"must be true or false, not {type_name(operand)}")
        return False
    return True


def _list(operand: Any, path: str, problems: Problems) -> bool:
    return problems.list(operand, path) is not None


OperandCheck = Callable[[Any, str, Problems], bool]
Test = Callable[[Any, Any, int], bool]
OPERATORS: dict[str, tuple[OperandCheck, Test]] = {
    "eq": (_any_value, lambda value, operand, _: _equal(value, operand)),
    "ne": (_any_value, lambda value, operand, _: not _equal(value, operand)),
    "gt": (_number, _ordered(lambda a, b: a > b)),
    "gte": (_number, _ordered(lambda a, b: a >= b)),
    "lt": (_number, _ordered(lambda a, b: a < b)),
    "lte": (_number, _ordered(lambda a, b: a <= b)),
    "in": (_list, lambda value, operand, _: any(_equal(value, item) for item in operand)),
    "contains": (_any_value, lambda value, operand, _: _contains(value, operand)),
    "exists": (_boolean, lambda _, operand, __: operand),
    "olderThanSeconds": (_seconds, _older),
    "withinSeconds": (_seconds, _within),
}


@dataclass(frozen=True, slots=True)
class FactTest:
    fact: Fact
    operator: str
    operand: Any

    def holds(self, facts: Facts, now_ms: int) -> bool:
        value = self.fact.value(facts)
        if value is MISSING:
            return self.operator == "exists" and self.operand is False
        return OPERATORS[self.operator][1](value, self.operand, now_ms)


def parse_condition(value: Any, path: str, problems: Problems, depth: int = 1) -> Condition | None:
    """`value` as a condition; None (with its problems recorded) when it is not one."""
    if depth > MAX_DEPTH:
        problems.add(path, f"conditions nest at most {MAX_DEPTH} deep")
        return None
    if not isinstance(value, dict):
        problems.add(path, f"a condition must be an object, not {type_name(value)}")
        return None
    combinators = [name for name in COMBINATORS if name in value]
    if combinators:
        if len(value) != 1:
            others = ", ".join(f"'{name}'" for name in value if name != combinators[0])
            problems.add(path, f"'{combinators[0]}' stands alone in its object, not with {others}")
            return None
        return _parse_combinator(combinators[0], value[combinators[0]], path, problems, depth)
    if "fact" not in value:
        problems.add(path, "a condition needs 'fact' and one operator, or one of all/any/not")
        return None
    return _parse_test(value, path, problems)


def _parse_combinator(
    name: str, operand: Any, path: str, problems: Problems, depth: int
) -> Condition | None:
    inner = key(path, name)
    if name == "not":
        condition = parse_condition(operand, inner, problems, depth + 1)
        return None if condition is None else Not(condition)
    items = problems.list(operand, inner)
    if items is None:
        return None
    conditions = [
        parse_condition(item, index(inner, n), problems, depth + 1) for n, item in enumerate(items)
    ]
    if any(condition is None for condition in conditions):
        return None
    parsed = tuple(c for c in conditions if c is not None)
    return AllOf(parsed) if name == "all" else AnyOf(parsed)


def _parse_test(value: dict[str, Any], path: str, problems: Problems) -> Condition | None:
    fact_text = problems.string(value["fact"], key(path, "fact"))
    fact = None if fact_text is None else parse_fact(fact_text, key(path, "fact"), problems)
    operators = [name for name in value if name != "fact"]
    unknown = [name for name in operators if name not in OPERATORS]
    for name in unknown:
        problems.add(path, f"unknown operator '{name}'")
    if not operators:
        problems.add(path, f"a test needs one operator: {', '.join(OPERATORS)}")
    elif len(operators) > 1 and not unknown:
        problems.add(path, f"a test has one operator, not {len(operators)}")
    if fact is None or len(operators) != 1 or unknown:
        return None
    operator = operators[0]
    if not OPERATORS[operator][0](value[operator], key(path, operator), problems):
        return None
    return FactTest(fact, operator, value[operator])
