"""What lets a shop's pages reach the API: CORS as API Gateway answers it (preflights, headers on
every answer, error answers included, allowed origins a setting), and page-unload delivery with
keepalive fetches and navigator.sendBeacon."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import urllib3
from playwright.sync_api import Error as PageError

from tests.browser.conftest import SITE, WRITE_KEY, Pipeline, local_api
from tools.local.browser import STANDARD, SdkCall

SHOP_ORIGIN = "https://shop.example"
http = urllib3.PoolManager(retries=False)


def request(method: str, url: str, body: bytes = b"", **headers: str) -> urllib3.BaseHTTPResponse:
    return http.request(method, url, body=body or None, headers=headers)


def test_a_preflight_is_answered_for_allowed_origins_only(pipeline: Pipeline):
    with local_api((SHOP_ORIGIN,)) as api:
        asked = {"Access-Control-Request-Method": "POST"}
        allowed = request(
            "OPTIONS",
            f"{api.url}/v1/t",
            Origin=SHOP_ORIGIN,
            **asked,
            **{"Access-Control-Request-Headers": "authorization,x-retry-count"},
        )
        other = request("OPTIONS", f"{api.url}/v1/t", Origin="https://evil.example", **asked)

    assert allowed.status == 204
    assert allowed.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert {"authorization", "x-retry-count", "content-type"} <= set(
        allowed.headers["access-control-allow-headers"].split(",")
    )
    assert "POST" in allowed.headers["access-control-allow-methods"]
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        (
            "POST",
            "/v1/t",
            b'{"type": "track", "event": "x", "userId": "u", "writeKey": "nope"}',
            401,
        ),
        ("POST", "/v1/b", b"not json", 400),
        ("GET", "/v1/projects/wk_nobody/settings", b"", 404),
    ],
    ids=["unauthorized", "malformed", "unknown-settings"],
)
def test_error_answers_carry_cors_headers_so_the_sdk_does_not_resend(
    pipeline: Pipeline, method: str, path: str, body: bytes, status: int
):
    with local_api((SHOP_ORIGIN,)) as api:
        answer = request(
            method, f"{api.url}{path}", body, Origin=SHOP_ORIGIN, **{"Content-Type": "text/plain"}
        )

    assert answer.status == status
    assert answer.headers["access-control-allow-origin"] == SHOP_ORIGIN
    assert "retry-after" in answer.headers["access-control-expose-headers"].split(",")
    assert "x-ratelimit-reset" in answer.headers["access-control-expose-headers"].split(",")


def test_a_page_from_an_origin_not_allowed_cannot_send(pipeline: Pipeline):
    with (
        local_api((SHOP_ORIGIN,)) as api,
        pipeline.shopper(api) as shopper,
        pytest.raises(PageError),
    ):
        shopper.visit(STANDARD, [SdkCall("track", ("Blocked",))])


def test_allowed_origins_are_a_setting_the_browser_honours(pipeline: Pipeline):
    with local_api((SHOP_ORIGIN, pipeline.site.url)) as api:
        with pipeline.shopper(api) as shopper:
            message_ids = shopper.visit(STANDARD, [SdkCall("track", ("Allowed",))])
        api.drain()

    assert Counter(pipeline.stored_ids())[message_ids[0]] == 1


UNLOAD_SCRIPT = """async ([api, writeKey, events, big]) => {
  const asText = navigator.sendBeacon(`${api}/v1/t`, JSON.stringify({...events[0], writeKey}));
  const asBlob = navigator.sendBeacon(`${api}/v1/b`, new Blob(
    [JSON.stringify({writeKey, batch: [events[1], events[2]]})], {type: "text/plain"}));
  const body = JSON.stringify({writeKey, batch: big});
  const response = await fetch(`${api}/v1/b`, {method: "POST", keepalive: true,
    headers: {"Content-Type": "text/plain"}, body});
  return {asText, asBlob, keepaliveStatus: response.status, keepaliveBytes: body.length};
}"""


def unload_event(message_id: str, pad: int = 0) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Page Left",
        "anonymousId": "anon-unload",
        "messageId": message_id,
        "properties": {"pad": "x" * pad},
    }


def test_beacons_and_keepalive_fetches_are_taken(pipeline: Pipeline):
    events = [unload_event(f"beacon-{n}") for n in range(3)]
    big = [unload_event(f"keepalive-{n}", pad=900) for n in range(60)]
    expected = [event["messageId"] for event in events + big]

    with pipeline.shopper() as shopper:
        sent = shopper.run_script(
            UNLOAD_SCRIPT,
            [pipeline.api.url, WRITE_KEY, events, big],
            lambda _: pipeline.holds(expected),
            "beacons and a keepalive fetch",
        )

    assert sent["asText"] is True and sent["asBlob"] is True
    assert sent["keepaliveStatus"] == 200
    assert 60_000 < sent["keepaliveBytes"] <= 64 * 1024, "as large as keepalive allows"
    stored = [e for e in pipeline.stored() if e["messageId"] in set(expected)]
    assert Counter(e["messageId"] for e in stored) == Counter(expected)
    assert {e["site"] for e in stored} == {SITE}
    assert {e["event"] for e in stored} == {"Page Left"}
