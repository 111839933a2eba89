"""The settings Segment's client SDKs load before they send anything, pointing them at this API.

analytics-next fetches `<cdnURL>/v1/projects/<writeKey>/settings` and the mobile SDKs
`https://<cdnHost>/projects/<writeKey>/settings`; the `Segment.io` integration in the answer
says where events go. Answering it here lets a site switch by changing only its `cdnURL` (or
`cdnHost`): the answer sends events to the host the settings came from. It holds the asked-for
key alone, turns the SDK's own telemetry off (it would go to Segment) and loads no other
destinations or plugins.
"""

from __future__ import annotations

from typing import Any

API_PATH = "/v1"
"""Where the Tracking API lives on the host; the SDKs append /t, /b, ... to apiHost."""


def sdk_settings(write_key: str, host: str, protocol: str) -> dict[str, Any]:
    """The settings document for `write_key`, with events going to `protocol://host/v1`."""
    return {
        "integrations": {
            "Segment.io": {
                "apiKey": write_key,
                "apiHost": f"{host}{API_PATH}",
                "protocol": protocol,
                "unbundledIntegrations": [],
                "addBundledMetadata": True,
                "maybeBundledConfigIds": {},
            }
        },
        "plan": {
            "track": {"__default": {"enabled": True, "integrations": {}}},
            "identify": {"__default": {"enabled": True}},
            "group": {"__default": {"enabled": True}},
        },
        "edgeFunction": {},
        "analyticsNextEnabled": True,
        "middlewareSettings": {},
        "enabledMiddleware": {},
        "metrics": {"sampleRate": 0},
        "legacyVideoPluginsEnabled": False,
        "remotePlugins": [],
    }
