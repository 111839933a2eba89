"""Key naming: every key of a site carries the site as its cluster hash tag.

ElastiCache Serverless runs Valkey in cluster mode, where a script may only touch keys of one
hash slot. Profiles, identity links and a shard's high-water marks of one site all live under
`rt:{<site>}:`, so one script can join identities and update profiles of a site atomically. The
price: one site's keys live on one shard of the cache (see the README's sizing notes).
"""

from __future__ import annotations

from dataclasses import dataclass

PREFIX = "rt"


def _escaped(text: str) -> str:
    """The text with '%', '{' and '}' percent-encoded, so it cannot end or open a hash tag."""
    return text.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


@dataclass(frozen=True, slots=True)
class SiteKeys:
    """The names of one site's keys."""

    site: str

    @property
    def prefix(self) -> str:
        """What every key of the site starts with; scripts derive their keys from it."""
        return f"{PREFIX}:{{{_escaped(self.site)}}}:"

    def profile(self, profile_id: str) -> str:
        """A profile document; `profile_id` is "u:<userId>" or "a:<anonymousId>"."""
        return f"{self.prefix}p:{profile_id}"

    def link(self, profile_id: str) -> str:
        """The profile an identity was joined into (absent while it stands alone)."""
        return f"{self.prefix}l:{profile_id}"

    def high_water(self, consumer: str, shard_id: str) -> str:
        """The last stream position `consumer` applied for this site from `shard_id`."""
        return f"{self.prefix}hw:{consumer}:{shard_id}"
