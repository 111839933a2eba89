"""Hypothesis profiles: `ci` (the default) derandomizes, so a run's examples follow from the code
alone and a test cannot pass on one run and fail on the next; `thorough` draws fresh random
examples, up to 1,000 per test that sets no count of its own, for a developer's longer search
(`RIPTIDE_HYPOTHESIS_PROFILE=thorough scripts/test`). Neither times an example: a deadline or
a slowness check would make the result depend on how busy the machine is."""

import os

from hypothesis import HealthCheck, settings

UNTIMED = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}

settings.register_profile("ci", derandomize=True, database=None, print_blob=True, **UNTIMED)
settings.register_profile("thorough", max_examples=1_000, print_blob=True, **UNTIMED)
settings.load_profile(os.environ.get("RIPTIDE_HYPOTHESIS_PROFILE", "ci"))
