"""Hypothesis profiles: `ci` (the default) derandomizes, so a run's examples follow from the code
alone and a test cannot pass on one run and fail on the next; `thorough` draws fresh random
examples, up to 1,000 per test that sets no count of its own, for a developer's longer search
(`RIPTIDE_HYPOTHESIS_PROFILE=thorough scripts/test`)."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("thorough", max_examples=1_000, print_blob=True)
settings.load_profile(os.environ.get("RIPTIDE_HYPOTHESIS_PROFILE", "ci"))
