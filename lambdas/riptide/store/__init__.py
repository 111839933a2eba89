"""The Valkey store every stateful consumer shares: one connection, one key layout, its scripts.

The profile consumer keeps profiles and identity links here; other state that must agree across
consumers (e.g. a messageId deduplication window) sits beside it under the same key layout.
"""

from riptide.store.client import StoreUnavailableError, connect
from riptide.store.keys import SiteKeys
from riptide.store.scripts import StoreScript

__all__ = ["SiteKeys", "StoreScript", "StoreUnavailableError", "connect"]
