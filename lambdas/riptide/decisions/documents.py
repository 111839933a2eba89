"""Where rules and trends live: an S3 prefix in the stack, a directory on one machine.

One small interface for both, chosen by DECISIONS_URL (`s3://bucket/prefix` or `file:///dir`),
so the decider, the trends job and the rollup consumer read the same documents wherever they
run. A document's `version` (the S3 ETag, or the file's modification time and size) lets a
reader skip parsing what it already holds.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from riptide.config import ConfigurationError

RULES_PREFIX = "rules/"
TRENDS_PREFIX = "trends/"
DOCUMENT_SUFFIX = ".json"


def rules_key(site: str) -> str:
    return f"{RULES_PREFIX}{site}{DOCUMENT_SUFFIX}"


def trends_key(site: str) -> str:
    return f"{TRENDS_PREFIX}{site}{DOCUMENT_SUFFIX}"


def site_of(key: str) -> str:
    """The site a rules or trends key is for."""
    return key.rsplit("/", 1)[-1].removesuffix(DOCUMENT_SUFFIX)


class DocumentsUnavailableError(RuntimeError):
    """The documents could not be read or written; readers keep what they hold."""


@dataclass(frozen=True, slots=True)
class Document:
    body: bytes
    version: str


class DocumentStore(Protocol):
    def read(self, key: str) -> Document | None:
        """The document at `key`, or None when there is none."""
        ...

    def write(self, key: str, body: bytes) -> None: ...

    def keys(self, prefix: str) -> list[str]:
        """Every document key under `prefix`, sorted."""
        ...


class DirectoryDocuments:
    """Documents as files under `root`; a write replaces a file atomically."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def read(self, key: str) -> Document | None:
        path = self._root / key
        try:
            body = path.read_bytes()
            stat = path.stat()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise DocumentsUnavailableError(f"cannot read {path}: {error}") from error
        return Document(body, f"{stat.st_mtime_ns}-{stat.st_size}")

    def write(self, key: str, body: bytes) -> None:
        path = self._root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
        partial.write_bytes(body)
        partial.replace(path)

    def keys(self, prefix: str) -> list[str]:
        folder = self._root / prefix
        if not folder.is_dir():
            return []
        return sorted(
            f"{prefix}{path.name}"
            for path in folder.iterdir()
            if path.is_file() and path.name.endswith(DOCUMENT_SUFFIX)
        )


class S3Documents:
    """Documents as objects under `prefix` in `bucket`; `s3` is a boto3 S3 client."""

    def __init__(self, s3: Any, bucket: str, prefix: str = "") -> None:
        self._s3 = s3
        self._bucket = bucket
        self._prefix = prefix

    def read(self, key: str) -> Document | None:
        try:
            answer = self._s3.get_object(Bucket=self._bucket, Key=self._prefix + key)
            return Document(answer["Body"].read(), answer["ETag"])
        except self._s3.exceptions.NoSuchKey:
            return None
        except Exception as error:
            raise DocumentsUnavailableError(f"cannot read s3://{self._bucket}/{key}") from error

    def write(self, key: str, body: bytes) -> None:
        try:
            self._s3.put_object(
                Bucket=self._bucket,
                Key=self._prefix + key,
                Body=body,
                ContentType="application/json",
            )
        except Exception as error:
            raise DocumentsUnavailableError(f"cannot write s3://{self._bucket}/{key}") from error

    def keys(self, prefix: str) -> list[str]:
        found: list[str] = []
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self._bucket, Prefix=self._prefix + prefix
            )
            for page in pages:
                found.extend(item["Key"][len(self._prefix) :] for item in page.get("Contents", []))
        except Exception as error:
            raise DocumentsUnavailableError(f"cannot list s3://{self._bucket}/{prefix}") from error
        return sorted(key for key in found if key.endswith(DOCUMENT_SUFFIX))


def open_documents(url: str, s3_client: Callable[[], Any]) -> DocumentStore:
    """The store DECISIONS_URL names; `s3_client` is called only for an s3:// URL."""
    parsed = urlparse(url)
    if parsed.scheme == "s3" and parsed.netloc:
        prefix = parsed.path.lstrip("/")
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return S3Documents(s3_client(), parsed.netloc, prefix)
    if parsed.scheme == "file" and parsed.path:
        return DirectoryDocuments(Path(parsed.path))
    raise ConfigurationError(
        f"DECISIONS_URL must be s3://<bucket>[/<prefix>] or file:///<directory>, not {url!r}"
    )
