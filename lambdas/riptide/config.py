"""Reading a function's settings from its environment: one error type, one way to read a value.

Each function has one typed settings object built from the environment at its composition root;
the engines take plain values. A variable that is missing takes the default the stack also uses
(riptide.defaults), so a function deployed without it behaves as a deployed one; a variable that
holds something unusable stops the function with a ConfigurationError naming it.
"""

from __future__ import annotations

from collections.abc import Mapping


class ConfigurationError(ValueError):
    """A setting is missing or unusable; the message names the setting and says why."""


class EnvReader:
    """Typed reads of environment variables, each error naming the variable."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str, default: str | None = None) -> str:
        """The variable's text, stripped; the default when empty or unset (required if none)."""
        value = self._environ.get(name, "").strip()
        if value:
            return value
        if default is None:
            raise ConfigurationError(f"environment variable {name} must be set")
        return default

    def optional(self, name: str) -> str | None:
        """The variable's text, stripped, or None when empty or unset."""
        return self._environ.get(name, "").strip() or None

    def integer(self, name: str, default: int, minimum: int = 1, maximum: int | None = None) -> int:
        raw = self._environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = None
        if value is None or value < minimum or (maximum is not None and value > maximum):
            kind = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
            upper = f" of at most {maximum}" if maximum is not None else ""
            raise ConfigurationError(
                f"environment variable {name} must be {kind}{upper}, got {raw!r}"
            )
        return value

    def seconds(self, name: str, default: float) -> float:
        """A positive number of seconds."""
        raw = self._environ.get(name, "").strip()
        if not raw:
            return default
        try:
            value = float(raw)
        except ValueError:
            value = 0.0
        if not value > 0:
            raise ConfigurationError(
                f"environment variable {name} must be a number of seconds above 0, got {raw!r}"
            )
        return value

    def flag(self, name: str, default: bool) -> bool:
        raw = self._environ.get(name, "").strip().lower()
        if not raw:
            return default
        if raw in ("true", "1", "yes"):
            return True
        if raw in ("false", "0", "no"):
            return False
        raise ConfigurationError(f"environment variable {name} must be true or false, got {raw!r}")

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        raw = self._environ.get(name, "").strip().lower() or default
        if raw not in choices:
            raise ConfigurationError(
                f"environment variable {name} must be one of {', '.join(choices)}, got {raw!r}"
            )
        return raw
