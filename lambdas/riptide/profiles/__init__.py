"""Real-time profiles: one per (site, shopper), updated exactly once from the stream."""

from riptide.profiles.consumer import BatchOutcome, ProfileConsumer
from riptide.profiles.store import ProfileStore, StoreLimits

__all__ = ["BatchOutcome", "ProfileConsumer", "ProfileStore", "StoreLimits"]
