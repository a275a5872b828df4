"""Attachment files: stored under the data directory, never under a served one.

Files are written under random names (the user's file name is metadata
only), hashed while written, and removed again if the database transaction
that should record them does not commit.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

CHUNK = 64 * 1024
SAFE_NAME = re.compile(r"[^\w.\- ()]+")


@dataclass(frozen=True)
class IncomingFile:
    """An uploaded file as the adapters hand it over."""

    filename: str
    content_type: str
    chunks: Iterable[bytes]


@dataclass(frozen=True)
class StoredFile:
    storage_name: str
    size: int
    sha256: str
    filename: str
    content_type: str


class FileTooLarge(Exception):
    pass


def root() -> Path:
    path = Path(settings.ATTACHMENT_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def clean_filename(name: str) -> str:
    """A display name with no path, no control characters and a sane length."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = SAFE_NAME.sub("_", name).strip(" .")
    return (name or "attachment")[:200]


def clean_content_type(value: str) -> str:
    value = (value or "").split(";", 1)[0].strip().lower()
    if re.fullmatch(r"[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+", value) and len(value) <= 127:
        return value
    return "application/octet-stream"


def write(incoming: IncomingFile, *, max_bytes: int) -> StoredFile:
    """Stream ``incoming`` to disk; raises ``FileTooLarge`` (leaving nothing behind) past ``max_bytes``."""
    storage_name = f"{secrets.token_hex(1)}/{secrets.token_hex(16)}"
    path = root() / storage_name
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "xb") as out:
            for chunk in incoming.chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise FileTooLarge
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    os.chmod(path, 0o600)
    return StoredFile(
        storage_name=storage_name,
        size=size,
        sha256=digest.hexdigest(),
        filename=clean_filename(incoming.filename),
        content_type=clean_content_type(incoming.content_type),
    )


def remove(storage_names: Iterable[str]) -> None:
    for name in storage_names:
        (root() / name).unlink(missing_ok=True)


def open_chunks(storage_name: str) -> Iterator[bytes]:
    path = (root() / storage_name).resolve()
    # storage names are generated here, but refuse anything that escapes the root anyway.
    if root().resolve() not in path.parents:
        raise FileNotFoundError(storage_name)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk
