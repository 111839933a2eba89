"""DruidClient against the fault-injecting stub: retries, budgets, and Druid's own error text."""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl

import pytest
import urllib3

from riptide.druid import (
    DruidAuth,
    DruidClient,
    DruidRequestError,
    DruidTlsError,
    DruidUnavailableError,
    SubmitOutcome,
    TaskState,
    Timeouts,
    apply_compaction_config,
    build_compaction_config,
    read_compaction_config,
)
from riptide.retry import Deadline
from tests.delivery.fault_injecting_druid import Fault, FaultInjectingDruid

TASK = {"type": "index_parallel", "id": "riptide_test_1", "spec": {}}


@pytest.fixture
def stub():
    with FaultInjectingDruid() as druid:
        yield druid


def test_transient_answers_are_retried_until_druid_takes_the_task(stub: FaultInjectingDruid):
    stub.script_submit(Fault(429), Fault(500), Fault(503), Fault(502))

    outcome = DruidClient(stub.url).submit_task(TASK, Deadline(30))

    assert outcome is SubmitOutcome.SUBMITTED
    assert stub.submissions == ["riptide_test_1"] * 5


def test_an_accepted_task_whose_answer_timed_out_is_recognised_on_retry(stub: FaultInjectingDruid):
    stub.script_submit(Fault(200, delay=0.6, accept=True))
    client = DruidClient(stub.url, timeouts=Timeouts(connect_seconds=0.3, read_seconds=0.3))

    assert client.submit_task(TASK, Deadline(30)) is SubmitOutcome.ALREADY_EXISTS
    assert list(stub.tasks) == ["riptide_test_1"]


def test_retries_stop_at_the_deadline_with_the_last_problem(stub: FaultInjectingDruid):
    stub.script_submit(*[Fault(503, b"")] * 100)

    with pytest.raises(DruidUnavailableError) as raised:
        DruidClient(stub.url).submit_task(TASK, Deadline(0.5))

    assert "HTTP 503" in str(raised.value)
    assert raised.value.attempts >= 2


def test_refused_connections_are_retried_then_reported():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(DruidUnavailableError) as raised:
        DruidClient(f"http://127.0.0.1:{port}").submit_task(TASK, Deadline(0.4))

    assert "NewConnectionError" in raised.value.last_problem


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (
            {
                "error": "druidException",
                "errorCode": "invalidInput",
                "category": "INVALID_INPUT",
                "errorMessage": "Invalid value for field [id]: must not contain '/'",
            },
            "Invalid value for field [id]: must not contain '/'",
        ),
        (
            {"error": "Instantiation of [simple type, class IndexTask] failed"},
            "Instantiation of [simple type, class IndexTask] failed",
        ),
    ],
    ids=["druid28+", "druid27"],
)
def test_rejections_carry_druids_text(stub: FaultInjectingDruid, body: dict, text: str):
    stub.script_submit(Fault(400, json.dumps(body).encode()))

    with pytest.raises(DruidRequestError) as raised:
        DruidClient(stub.url).submit_task(TASK, Deadline(5))

    assert (raised.value.status, raised.value.druid_message) == (400, text)
    assert len(stub.submissions) == 1


def test_basic_auth_is_sent_and_a_wrong_password_is_final():
    with FaultInjectingDruid(credentials=("pipeline", "s3cret")) as druid:
        good = DruidClient(druid.url, DruidAuth("pipeline", "s3cret"))
        bad = DruidClient(druid.url, DruidAuth("pipeline", "wrong"))

        assert good.submit_task(TASK, Deadline(5)) is SubmitOutcome.SUBMITTED
        with pytest.raises(DruidRequestError) as raised:
            bad.task_status("riptide_test_1", Deadline(5))

    assert raised.value.status == 401


def test_task_status_reads_states_and_unknown_ids(stub: FaultInjectingDruid):
    client = DruidClient(stub.url)
    stub.end_next_tasks("FAILED")
    client.submit_task(TASK, Deadline(5))

    status = client.task_status("riptide_test_1", Deadline(5))

    assert (status.state, status.error) == (TaskState.FAILED, "scripted failure")
    assert client.task_status("nope", Deadline(5)) is None


def test_compaction_config_is_applied_and_read_back(stub: FaultInjectingDruid):
    client = DruidClient(stub.url)
    config = build_compaction_config("events_1m")

    stored = apply_compaction_config(client, config, Deadline(5))

    assert config == {
        "dataSource": "events_1m",
        "skipOffsetFromLatest": "PT1H",
        "granularitySpec": {"segmentGranularity": "DAY"},
    }
    assert stored["skipOffsetFromLatest"] == "PT1H"
    assert stored["granularitySpec"] == {"segmentGranularity": "DAY"}
    assert read_compaction_config(client, "other", Deadline(5)) is None


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1: (cert file, key file)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "druid.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_file), str(key_file)


def test_tls_certificates_are_verified(certificate: tuple[str, str]):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    with FaultInjectingDruid(tls=context) as druid:
        trusting = DruidClient(druid.url, pool=urllib3.PoolManager(ca_certs=certificate[0]))
        assert trusting.submit_task(TASK, Deadline(5)) is SubmitOutcome.SUBMITTED

        with pytest.raises(DruidTlsError) as raised:
            DruidClient(druid.url).submit_task(TASK, Deadline(5))

    assert "CERTIFICATE_VERIFY_FAILED" in raised.value.problem


def test_sql_sends_typed_parameters_and_retries_transient_answers(stub: FaultInjectingDruid):
    stub.script_sql(Fault(503), Fault(200, b'[{"site": "a", "events": 3}]'))
    client = DruidClient(stub.url, timeouts=Timeouts(read_seconds=4.0))
    moment = datetime.datetime(2026, 12, 1, 15, 0, tzinfo=datetime.UTC)

    rows = client.sql("SELECT ? AS t, ? AS n, ? AS s", [moment, 7, "x"], Deadline(30))

    assert rows == [{"site": "a", "events": 3}]
    assert len(stub.sql_requests) == 2
    (request, _) = stub.sql_requests
    assert request["parameters"] == [
        {"type": "TIMESTAMP", "value": 1796137200000},
        {"type": "BIGINT", "value": 7},
        {"type": "VARCHAR", "value": "x"},
    ]
    assert request["resultFormat"] == "object"
    assert 0 < request["context"]["timeout"] <= 4000


def test_an_sql_answer_cut_short_is_a_failure_not_fewer_rows(stub: FaultInjectingDruid):
    stub.script_sql(Fault(200, b'[{"site": "a", "events": 3},{"site": "b", "ev'))

    with pytest.raises(DruidUnavailableError) as raised:
        DruidClient(stub.url).sql("SELECT 1", [], Deadline(30))

    assert "cut short" in raised.value.last_problem
