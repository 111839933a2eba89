"""The RuleBook serves each site's last good rules: it re-reads a file once its copy is older
than the maximum age, parses only a changed document, refuses a bad file (logging every problem)
and keeps serving through a store outage; from a directory and from S3 (moto)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from riptide.decisions.documents import (
    DirectoryDocuments,
    Document,
    DocumentStore,
    DocumentsUnavailableError,
    S3Documents,
    rules_key,
)
from riptide.decisions.rulebook import RETRY_SECONDS, RuleBook
from tests.decisions.rulesets import SITE, encode, experiment, rules
from tests.fake_aws import use_fake_aws_credentials

MAX_AGE = 30.0
WAIT_SECONDS = 60.0
"""Only bounds how long a broken build makes a thread test hang; no assertion is timed."""
BUCKET = "riptide-decisions"


class Clock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def directory(tmp_path: Path) -> DocumentStore:
    return DirectoryDocuments(tmp_path)


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    use_fake_aws_credentials(monkeypatch)
    with mock_aws():
        client = boto3.client("s3")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield client


def book(documents: DocumentStore, clock: Clock) -> RuleBook:
    return RuleBook(documents, MAX_AGE, clock)


def logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name.endswith("rulebook")]


def version(label: str, site: str = SITE, **changes: Any) -> bytes:
    return encode(rules(site=site, version=label, **changes))


BROKEN = encode(rules(version="3", placements={"home-hero": {"rules": [], "fallback": "nothing"}}))


def test_a_new_version_serves_once_the_copy_is_older_than_the_max_age(
    directory: DocumentStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    directory.write(rules_key(SITE), version("1"))
    rules_book = book(directory, clock)
    assert rules_book.rule_set(SITE).version == "1"  # type: ignore[union-attr]

    directory.write(rules_key(SITE), version("2"))
    clock.now += MAX_AGE - 1
    assert rules_book.rule_set(SITE).version == "1"  # type: ignore[union-attr]

    clock.now += 1
    assert rules_book.rule_set(SITE).version == "2"  # type: ignore[union-attr]


def test_an_unchanged_document_is_not_parsed_again(
    directory: DocumentStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    directory.write(rules_key(SITE), version("1"))
    rules_book = book(directory, clock)
    first = rules_book.rule_set(SITE)

    clock.now += MAX_AGE * 3

    assert rules_book.rule_set(SITE) is first


def test_a_bad_file_is_refused_logged_and_the_last_good_version_keeps_serving(
    directory: DocumentStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    directory.write(rules_key(SITE), version("1"))
    rules_book = book(directory, clock)
    good = rules_book.rule_set(SITE)

    directory.write(rules_key(SITE), BROKEN)
    clock.now += MAX_AGE
    served = rules_book.rule_set(SITE)
    clock.now += MAX_AGE
    served_later = rules_book.rule_set(SITE)

    assert served is good and served_later is good
    [refusal] = logged(caplog)  # once per document, not once per read
    assert refusal.levelname == "ERROR"
    assert refusal.site == SITE and refusal.rules_version == "1"  # type: ignore[attr-defined]
    assert refusal.problems == [  # type: ignore[attr-defined]
        "placements.home-hero.fallback: unknown content 'nothing'"
    ]


def test_a_site_whose_first_file_is_bad_has_no_rules_until_a_good_one(
    directory: DocumentStore, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    directory.write(rules_key(SITE), BROKEN)
    rules_book = book(directory, clock)
    assert rules_book.rule_set(SITE) is None
    assert rules_book.rule_set("no-such-site") is None

    directory.write(rules_key(SITE), version("4"))
    clock.now += MAX_AGE

    assert rules_book.rule_set(SITE).version == "4"  # type: ignore[union-attr]


def test_rules_from_s3_keep_serving_through_an_outage(
    s3: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    documents = S3Documents(s3, BUCKET, "decisions/")
    documents.write(rules_key(SITE), version("1", experiments=[experiment()]))
    rules_book = book(documents, clock)
    good = rules_book.rule_set(SITE)
    held = rules_book.experiments()
    assert good is not None and good.version == "1" and held == {SITE: good.experiments}

    _take_s3_down(s3)
    clock.now += MAX_AGE

    assert rules_book.rule_set(SITE) is good
    assert rules_book.experiments() == held
    assert [record.levelname for record in logged(caplog)] == ["WARNING", "WARNING"]


def test_without_anything_held_an_outage_gives_no_rules_and_no_experiments(
    s3: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    documents = S3Documents(s3, BUCKET)
    documents.write(rules_key(SITE), version("1"))
    _take_s3_down(s3)
    rules_book = book(documents, clock)

    assert rules_book.rule_set(SITE) is None
    with pytest.raises(DocumentsUnavailableError):
        rules_book.experiments()


class UnreadableDocuments:
    """Fault injection: a directory whose files list but cannot be read, as when S3 lists a
    key and then fails its GET; moto cannot fail one call on demand."""

    def __init__(self, documents: DocumentStore) -> None:
        self._documents = documents
        self.reads = 0

    def read(self, key: str) -> Document | None:
        self.reads += 1
        raise DocumentsUnavailableError(f"cannot read {key}")

    def write(self, key: str, body: bytes) -> None:
        self._documents.write(key, body)

    def keys(self, prefix: str) -> list[str]:
        return self._documents.keys(prefix)


def test_experiments_are_not_answered_without_a_site_that_cannot_be_read(
    directory: DocumentStore, clock: Clock
) -> None:
    directory.write(rules_key(SITE), version("1", experiments=[experiment()]))
    rules_book = book(UnreadableDocuments(directory), clock)

    with pytest.raises(DocumentsUnavailableError):
        rules_book.experiments()


def test_an_unreadable_store_is_asked_again_after_the_retry_time_not_on_every_call(
    directory: DocumentStore, clock: Clock
) -> None:
    directory.write(rules_key(SITE), version("1"))
    unreadable = UnreadableDocuments(directory)
    rules_book = book(unreadable, clock)

    assert [rules_book.rule_set(SITE) for _ in range(3)] == [None, None, None]
    assert unreadable.reads == 1
    clock.now += RETRY_SECONDS
    assert rules_book.rule_set(SITE) is None
    assert unreadable.reads == 2


class SlowDocuments:
    """Fault injection: a store whose reads wait until the test lets them answer, to hold a
    read under way while other threads ask (decisions run on threads in the collector)."""

    def __init__(self, documents: DocumentStore) -> None:
        self._documents = documents
        self.reading = threading.Event()
        self.answer = threading.Event()
        self.reads = 0

    def read(self, key: str) -> Document | None:
        self.reads += 1
        self.reading.set()
        assert self.answer.wait(WAIT_SECONDS)
        return self._documents.read(key)

    def write(self, key: str, body: bytes) -> None:
        self._documents.write(key, body)

    def keys(self, prefix: str) -> list[str]:
        return self._documents.keys(prefix)


def _in_thread(call: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()
    return thread, answers


def test_threads_asking_during_the_first_read_wait_for_its_rules(
    directory: DocumentStore, clock: Clock
) -> None:
    directory.write(rules_key(SITE), version("1"))
    slow = SlowDocuments(directory)
    rules_book = book(slow, clock)
    first, first_answer = _in_thread(lambda: rules_book.rule_set(SITE))
    assert slow.reading.wait(WAIT_SECONDS)

    others = [_in_thread(lambda: rules_book.rule_set(SITE)) for _ in range(4)]
    others[0][0].join(0.2)  # a chance to answer before the read is done, which they must not
    slow.answer.set()

    for thread, _ in [(first, first_answer), *others]:
        thread.join(WAIT_SECONDS)
    answers = first_answer + [answer for _, found in others for answer in found]
    assert [rule_set.version for rule_set in answers] == ["1"] * 5
    assert slow.reads == 1


def test_while_one_thread_reads_a_new_version_the_others_get_the_one_held(
    directory: DocumentStore, clock: Clock
) -> None:
    directory.write(rules_key(SITE), version("1"))
    slow = SlowDocuments(directory)
    slow.answer.set()
    rules_book = book(slow, clock)
    held = rules_book.rule_set(SITE)
    directory.write(rules_key(SITE), version("2"))
    clock.now += MAX_AGE
    slow.answer.clear()
    slow.reading.clear()
    reader, read = _in_thread(lambda: rules_book.rule_set(SITE))
    assert slow.reading.wait(WAIT_SECONDS)

    asker, asked = _in_thread(lambda: rules_book.rule_set(SITE))
    asker.join(WAIT_SECONDS)  # does not wait for the read under way
    slow.answer.set()
    reader.join(WAIT_SECONDS)

    assert asked == [held]
    assert [rule_set.version for rule_set in read] == ["2"]


def _take_s3_down(s3: Any) -> None:
    """Every read and list now fails, as in an outage: the bucket is gone."""
    for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=item["Key"])
    s3.delete_bucket(Bucket=BUCKET)


def test_experiments_of_every_site_with_good_rules(
    s3: Any, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    documents = S3Documents(s3, BUCKET)
    documents.write(rules_key(SITE), version("1", experiments=[experiment()]))
    documents.write(rules_key("southwind"), version("1", site="southwind"))
    documents.write(rules_key("broken"), BROKEN)
    rules_book = book(documents, clock)

    found = rules_book.experiments()

    assert {site: [e.id for e in experiments] for site, experiments in found.items()} == {
        SITE: ["cart-banner"],
        "southwind": [],
    }
    documents.write(rules_key("eastwind"), version("1", site="eastwind"))
    assert "eastwind" not in rules_book.experiments()
    clock.now += MAX_AGE
    assert "eastwind" in rules_book.experiments()
