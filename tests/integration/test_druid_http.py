"""Druid's own answers, over plain HTTP, that the pipeline's code relies on."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import DruidHttp, DruidSettings

pytestmark = pytest.mark.druid


def one_row_task(task_id: str, datasource: str, site: str) -> dict:
    row = {"ts": "2026-11-27T10:00:00Z", "site": site, "events": 1}
    return {
        "type": "index_parallel",
        "id": task_id,
        "spec": {
            "dataSchema": {
                "dataSource": datasource,
                "timestampSpec": {"column": "ts", "format": "iso"},
                "dimensionsSpec": {"dimensions": ["site"]},
                "metricsSpec": [{"type": "longSum", "name": "events", "fieldName": "events"}],
                "granularitySpec": {
                    "segmentGranularity": "HOUR",
                    "queryGranularity": "MINUTE",
                    "intervals": ["2026-11-27T10:00:00Z/2026-11-27T11:00:00Z"],
                },
            },
            "ioConfig": {
                "type": "index_parallel",
                "inputSource": {"type": "inline", "data": json.dumps(row)},
                "inputFormat": {"type": "json"},
                "appendToExisting": True,
            },
            "tuningConfig": {"type": "index_parallel", "partitionsSpec": {"type": "dynamic"}},
        },
    }


def test_resubmitted_task_id_is_refused_as_already_existing(
    druid_settings: DruidSettings, pipeline_http: DruidHttp, run_id: str
):
    task_id = f"riptide_duplicate_check_{run_id}"
    task = one_row_task(task_id, druid_settings.datasource, f"site-{run_id}")
    first = pipeline_http.request("POST", "/druid/indexer/v1/task", task)
    assert (first.status, first.json()) == (200, {"task": task_id})

    again = pipeline_http.request("POST", "/druid/indexer/v1/task", task)

    assert again.status == 400
    assert again.json() == {"error": f"Task [{task_id}] already exists."}


def test_pipeline_user_may_not_write_other_datasources_nor_change_config(
    druid_settings: DruidSettings, pipeline_http: DruidHttp, run_id: str
):
    other = one_row_task(f"riptide_other_{run_id}", f"not_{druid_settings.datasource}", "x")

    submitted = pipeline_http.request("POST", "/druid/indexer/v1/task", other)
    compaction = pipeline_http.request(
        "POST",
        "/druid/coordinator/v1/config/compaction",
        {"dataSource": druid_settings.datasource, "skipOffsetFromLatest": "PT1H"},
    )

    assert submitted.status == 403
    assert compaction.status == 403


def test_pipeline_user_may_ingest_inline_rows_but_not_read_the_druid_hosts_files(
    druid_settings: DruidSettings, pipeline_http: DruidHttp, run_id: str
):
    inline = one_row_task(f"riptide_inline_{run_id}", druid_settings.datasource, f"site-{run_id}")
    local = one_row_task(f"riptide_local_{run_id}", druid_settings.datasource, "x")
    local["spec"]["ioConfig"]["inputSource"] = {
        "type": "local",
        "baseDir": "/etc",
        "filter": "hostname",
    }

    refused = pipeline_http.request("POST", "/druid/indexer/v1/task", local)
    accepted = pipeline_http.request("POST", "/druid/indexer/v1/task", inline)

    assert refused.status == 403, refused
    assert accepted.status == 200, accepted
    assert pipeline_http.task_states(druid_settings.datasource, f"_local_{run_id}") == {}
