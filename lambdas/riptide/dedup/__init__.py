"""The messageId deduplication window every consumer shares, kept in the Valkey store."""

from riptide.dedup.window import Copy, DedupWindow, WindowLength, message_identity

__all__ = ["Copy", "DedupWindow", "WindowLength", "message_identity"]
