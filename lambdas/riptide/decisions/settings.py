"""The decider's settings: the producer's (where exposures go), the profile store's and read
keys (what it reads and who may ask), and DECISIONS_URL (rules and trends)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from riptide.config import ConfigurationError, EnvReader
from riptide.contract import Env
from riptide.ingest.config import IngestSettings
from riptide.profiles.settings import ProfileSettings

DECIDER_VARIABLES = (Env.PROFILE_STORE_URL, Env.READ_KEYS_SECRET_ARN, Env.DECISIONS_URL)
"""What a collector needs, beside its own settings, to serve decisions too."""


@dataclass(frozen=True)
class DecideSettings:
    ingest: IngestSettings
    profiles: ProfileSettings
    read_keys_secret_id: str
    decisions_url: str

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DecideSettings:
        """Raises ConfigurationError naming the first missing or unusable setting."""
        environ = os.environ if environ is None else environ
        profiles = ProfileSettings.from_env(environ)
        return cls(
            ingest=IngestSettings.from_env(environ, takes_requests=False),
            profiles=profiles,
            read_keys_secret_id=profiles.required_read_keys(),
            decisions_url=EnvReader(environ).text(Env.DECISIONS_URL),
        )

    @classmethod
    def for_collector(cls, environ: Mapping[str, str] | None = None) -> DecideSettings | None:
        """The collector's decider settings; None when it is to serve no decisions (none of
        DECIDER_VARIABLES set). Some but not all set is a mistake, refused with their names."""
        environ = os.environ if environ is None else environ
        read = EnvReader(environ)
        present = [name for name in DECIDER_VARIABLES if read.optional(name)]
        if not present:
            return None
        missing = [name for name in DECIDER_VARIABLES if name not in present]
        if missing:
            raise ConfigurationError(
                f"to serve decisions the collector needs {', '.join(DECIDER_VARIABLES)}; "
                f"{', '.join(missing)} not set"
            )
        return cls.from_env(environ)
