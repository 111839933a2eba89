"""The profile consumer in a local run: its own event source mapping on the run's stream, the
local store (scripts/valkey), and the figures the report shows (freshness, store operations per
event, a few profiles).

The run owns the store's database RUN_DATABASE: the demo sites' keys there are cleared when a
run starts (the stream is new, its sequence numbers start again) and kept afterwards, so the
profiles of a run can be read until the next one.
"""

from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

from infra.settings import Settings
from riptide.config import ConfigurationError
from riptide.contract import PROFILES
from riptide.profiles import BatchOutcome, ProfileConsumer
from riptide.profiles.composition import compose_profile_store
from riptide.profiles.view import present
from riptide.store import SiteKeys, connect
from riptide.store.client import StoreError
from tools.lambda_kit.context import FunctionSpec
from tools.lambda_kit.kinesis_mapping import MappingSettings

RUN_DATABASE = 1
SAMPLE_PROFILES = 3


def store_url() -> str:
    """The local store (scripts/valkey start), database RUN_DATABASE."""
    port = os.environ.get("RIPTIDE_VALKEY_PORT", "6390")
    return f"redis://127.0.0.1:{port}/{RUN_DATABASE}"


def clear_sites(url: str, sites: list[str]) -> None:
    """Remove what an earlier run left for these sites."""
    client = connect(url)
    try:
        for site in sites:
            pattern = SiteKeys(site).prefix.replace("{", "\\{") + "*"
            for key in client.scan_iter(match=pattern, count=1000):
                client.delete(key)
    except StoreError as error:
        raise ConfigurationError(
            f"the profile store at {url} does not answer ({error}); run: scripts/valkey start"
        ) from None
    finally:
        client.close()


def mapping_settings(settings: Settings) -> MappingSettings:
    """The profile consumer's event source mapping: short batching window, no tumbling window."""
    return MappingSettings(
        batch_size=settings.profile_batch_size,
        batching_window_seconds=settings.profile_batching_window_seconds,
        tumbling_window_seconds=0,
        retry_attempts=settings.retry_attempts,
        max_record_age_seconds=settings.max_record_age_seconds,
    )


def function_spec(settings: Settings, region: str) -> FunctionSpec:
    return FunctionSpec(
        PROFILES.service, region, settings.profile_timeout_seconds, settings.profile_memory_mb
    )


@dataclass(frozen=True)
class ProfileFigures:
    events: int
    applied: int
    replayed: int
    unusable: int
    failed_batches: int
    store_commands: int
    store_calls: int
    freshness_p50_ms: float | None
    freshness_p95_ms: float | None
    busy_ms: float
    mean_profile_bytes: float
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def commands_per_event(self) -> float:
        return self.store_commands / max(self.applied, 1)


class ProfileRun:
    """Gathers the outcome of every profile batch of the run."""

    def __init__(self, consumer: ProfileConsumer) -> None:
        self._outcomes: list[BatchOutcome] = []
        consumer.observers.append(self._outcomes.append)

    def figures(self, sites: list[str], busy_ms: float) -> ProfileFigures:
        """The run's figures; `busy_ms`: the time the profile consumer's invokes took."""
        outcomes = list(self._outcomes)
        freshness = sorted(ms for outcome in outcomes for ms in outcome.freshness_ms)
        p50 = p95 = None
        if len(freshness) >= 2:
            quantiles = statistics.quantiles(freshness, n=100, method="inclusive")
            p50, p95 = quantiles[49], quantiles[94]
        return ProfileFigures(
            events=sum(o.events for o in outcomes),
            applied=sum(o.applied for o in outcomes),
            replayed=sum(o.replayed for o in outcomes),
            unusable=sum(o.unusable for o in outcomes),
            failed_batches=sum(o.failed_from is not None for o in outcomes),
            store_commands=sum(o.store_commands for o in outcomes),
            store_calls=sum(o.store_calls for o in outcomes),
            freshness_p50_ms=p50,
            freshness_p95_ms=p95,
            busy_ms=busy_ms,
            mean_profile_bytes=self._mean_profile_bytes(sites),
            samples=self._samples(sites),
        )

    @staticmethod
    def _mean_profile_bytes(sites: list[str], most: int = 2_000) -> float:
        """The mean stored size of up to `most` of the run's profiles."""
        client = compose_profile_store().client
        sizes = []
        for site in sites:
            pattern = SiteKeys(site).prefix.replace("{", "\\{") + "p:*"
            for key in client.scan_iter(match=pattern, count=1000):
                sizes.append(client.strlen(key))
                if len(sizes) >= most:
                    break
        return statistics.fmean(sizes) if sizes else 0.0

    def _samples(self, sites: list[str]) -> list[dict[str, Any]]:
        """A few shoppers who logged in at checkout: their profiles joined an anonymous past."""
        store = compose_profile_store()  # the run's environment names the store
        client, now_ms = store.client, int(time.time() * 1000)
        found = []
        for site in sites:
            pattern = SiteKeys(site).prefix.replace("{", "\\{") + "l:a:*"
            for link in client.scan_iter(match=pattern, count=1000):
                anonymous_id = link.decode().rsplit("l:a:", 1)[1]
                document = store.read(site, [anonymous_id])[anonymous_id]
                if document is not None:
                    found.append({"site": site, **present(document, now_ms)})
                if len(found) >= SAMPLE_PROFILES:
                    return found
        return found


def render_profiles(f: ProfileFigures) -> list[str]:
    def ms(value: float | None) -> str:
        return "n/a" if value is None else f"{value / 1000:,.2f} s"

    lines = [
        "",
        "Profiles (profile consumer, local event source mapping, local store)",
        f"  events {f.events:,}: applied {f.applied:,}, replays skipped {f.replayed:,}, "
        f"unusable {f.unusable:,}; batches failed and retried {f.failed_batches:,}",
        f"  store: {f.store_calls:,} script calls, {f.store_commands:,} commands "
        f"({f.commands_per_event:.2f} per event, profiles coalesced per batch); profiles "
        f"{f.mean_profile_bytes:,.0f} B on average",
        f"  freshness, event accepted to visible in its profile: p50 {ms(f.freshness_p50_ms)}, "
        f"p95 {ms(f.freshness_p95_ms)}",
    ]
    for sample in f.samples:
        cart = sample["cart"] or {"items": [], "value": 0}
        orders = sample["orders"] or {"count": 0, "revenue": 0}
        lines.append(
            f"  {sample['site']} {sample['profileId']} (anonymous ids "
            f"{len(sample['anonymousIds'])}): first seen {sample['firstSeen']}, "
            f"{sum((sample['counts'] or {}).get('lifetime', {}).values()):,} events, "
            f"{len(cart['items'])} cart items ({cart['value']:,.2f}), "
            f"{orders['count']} orders ({orders['revenue']:,.2f}), "
            f"top category {next(iter(sample['categoryAffinity'] or {'-': 0}))}"
        )
    return lines
