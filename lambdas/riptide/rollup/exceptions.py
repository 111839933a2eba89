"""Errors of the rollup engine: one for bad settings, two for events the consumer quarantines."""


class RollupSettingsError(ValueError):
    """The dimension or metric settings are malformed; the message names the bad entry."""


class InvalidEventError(ValueError):
    """An event cannot be rolled up; `reason` names the field and what is wrong with it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LateEventError(InvalidEventError):
    """An event is older than the late tolerance, so the time policy quarantines it."""
