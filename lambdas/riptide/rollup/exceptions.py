"""Errors of the rollup engine: one for bad settings, two for events the consumer quarantines."""

from riptide.config import ConfigurationError


class RollupSettingsError(ConfigurationError):
    """The dimension or metric settings are malformed; the message names the bad entry."""


class UnrollableEventError(ValueError):
    """An event cannot be rolled up; `reason` names the field and what is wrong with it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LateEventError(UnrollableEventError):
    """An event is older than the late tolerance, so the time policy quarantines it."""
