"""Every problem of a rules file, each named by its JSON path, collected in one pass.

A site's rules are edited by hand; an error that stops at the first problem, or that does not
say where it is, turns one fix into many rounds. The parsers record problems here and go on.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Final

DESCRIPTION = "description"
"""A free-text field every object of the file may carry; nothing reads it."""


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Final = _Absent()
"""A required field that is not there: `object` reported it, the field's own check is quiet."""


class RulesError(ValueError):
    """A rules file was refused; `problems` names each problem as "<JSON path>: <what>"."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def key(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def index(path: str, position: int) -> str:
    return f"{path}[{position}]"


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Problems:
    """The problems found so far, and checks that record one and answer None on a mismatch."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.found.append(f"{path}: {message}" if path else message)

    def raise_any(self) -> None:
        if self.found:
            raise RulesError(self.found)

    def object(
        self,
        value: Any,
        path: str,
        required: Collection[str] = (),
        optional: Collection[str] = (),
    ) -> dict[str, Any] | None:
        """`value` as an object holding every `required` field and no field not named."""
        if value is ABSENT:
            return None
        if not isinstance(value, dict):
            self.add(path, f"must be an object, not {type_name(value)}")
            return None
        for name in required:
            if name not in value:
                self.add(path, f"missing field '{name}'")
        for name in value:
            if name not in required and name not in optional and name != DESCRIPTION:
                self.add(key(path, name), "unknown field")
        return value

    def mapping(self, value: Any, path: str) -> dict[str, Any] | None:
        """`value` as an object of named entries (names checked like any other name)."""
        if value is ABSENT:
            return None
        if not isinstance(value, dict):
            self.add(path, f"must be an object, not {type_name(value)}")
            return None
        return {
            name: entry
            for name, entry in value.items()
            if self.name(name, key(path, name)) is not None
        }

    def list(self, value: Any, path: str, *, empty: bool = False) -> list[Any] | None:
        if value is ABSENT:
            return None
        if not isinstance(value, list):
            self.add(path, f"must be a list, not {type_name(value)}")
            return None
        if not value and not empty:
            self.add(path, "must not be empty")
            return None
        return value

    def string(self, value: Any, path: str) -> str | None:
        if value is ABSENT:
            return None
        if not isinstance(value, str):
            self.add(path, f"must be a string, not {type_name(value)}")
            return None
        if not value:
            self.add(path, "must not be empty")
            return None
        return value

    def name(self, value: Any, path: str) -> str | None:
        """`value` as a name of a content, placement, rule, experiment or arm: a string without
        braces (content ids hold templates in braces)."""
        text = self.string(value, path)
        if text is not None and ("{" in text or "}" in text):
            self.add(path, "a name holds no '{' or '}'")
            return None
        return text

    def number(
        self,
        value: Any,
        path: str,
        *,
        low: float | None = None,
        high: float | None = None,
        high_open: bool = False,
        integer: bool = False,
    ) -> float | None:
        if value is ABSENT:
            return None
        if not is_number(value) or (integer and not isinstance(value, int)):
            kind = "an integer" if integer else "a number"
            self.add(path, f"must be {kind}, not {type_name(value)}")
            return None
        if low is not None and value < low:
            self.add(path, f"must be at least {low}, not {value}")
            return None
        if high is not None and (value >= high if high_open else value > high):
            bound = f"below {high}" if high_open else f"at most {high}"
            self.add(path, f"must be {bound}, not {value}")
            return None
        return value
