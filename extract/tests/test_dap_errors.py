"""Error bodies of the DAP API map to typed errors; SnapshotRequired is told from OutOfRange; a
full disk during a download is a DiskFullError, not a download to try again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from extract.dap import errors as e
from extract.dap.auth import Credentials
from extract.dap.client import DapClient, DownloadPolicy
from extract.landing.diskfull import DiskFullError


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (401, {"error": {"type": "AuthenticationError", "uuid": "u", "message": "bad"}}, e.AuthenticationError),
        (401, "<html>nope</html>", e.AuthenticationError),
        (403, {"error": {"type": "AccountDisabled", "uuid": "u", "message": "x"}}, e.AccountError),
        (400, {"error": {"type": "ValidationError", "uuid": "u", "message": "x", "location": {}}}, e.ValidationError),
        (400, {"error": {"uuid": "u", "message": "bad body", "location": {"line": 1}}}, e.ValidationError),
        (
            404,
            {"error": {"type": "ObjectNotFound", "uuid": "u", "message": "x", "id": "t", "kind": "table"}},
            e.NotFoundError,
        ),
        (
            400,
            {"error": {"type": "OutOfRange", "uuid": "u", "message": "no data", "since": "2024-01-01T00:00:00Z"}},
            e.OutOfRangeError,
        ),
        (
            400,
            {"error": {"type": "SnapshotRequired", "uuid": "u", "message": "m", "since": "2024-01-01T00:00:00Z"}},
            e.SnapshotRequiredError,
        ),
        # Without a type, the message decides: a reload asks for a new snapshot.
        (
            400,
            {"error": {"uuid": "u", "message": "table was reloaded; a new snapshot is required", "since": "x"}},
            e.SnapshotRequiredError,
        ),
        (400, {"error": {"uuid": "u", "message": "no data in the requested range", "since": "x"}}, e.OutOfRangeError),
        (504, {"error": {"message": "gateway timeout"}}, e.ServerError),
        (502, "<html><body>Bad gateway</body></html>", e.ServerError),
        (429, {"error": {"message": "slow down"}}, e.RateLimitedError),
        (500, {"error": {"type": "ProcessingError", "uuid": "u", "message": ""}}, e.ProcessingError),
    ],
)
def test_error_mapping(status: int, body: object, expected: type[e.DapError]) -> None:
    error = e.error_from_response(status, body)
    assert type(error) is expected
    assert error.status == status


def test_error_keeps_type_uuid_and_message_in_its_text() -> None:
    error = e.error_from_response(
        400, {"error": {"type": "OutOfRange", "uuid": "5da0-1", "message": "no data", "since": "2024-01-01T00:00:00Z"}}
    )
    text = str(error)
    assert "no data" in text and "OutOfRange" in text and "5da0-1" in text and "400" in text
    assert error.details["since"] == "2024-01-01T00:00:00Z"


def test_failed_job_error_reaches_the_user() -> None:
    error = e.JobFailedError("job-1", {"type": "ProcessingError", "uuid": "abc", "message": "disk full"})
    assert "disk full" in str(error) and "abc" in str(error) and "ProcessingError" in str(error)
    assert e.JobFailedError("job-2", None).message.endswith("no message given")


def test_snapshot_required_is_an_out_of_range() -> None:
    assert issubclass(e.SnapshotRequiredError, e.OutOfRangeError)


class _Raw:
    def stream(self, size: int, decode_content: bool = False) -> Iterator[bytes]:
        yield from (b"x" * 4096 for _ in range(4))


class _Answer:
    status_code = 200
    headers = {"Content-Length": str(4 * 4096)}
    raw = _Raw()

    def __enter__(self) -> _Answer:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class _Storage:
    def __init__(self) -> None:
        self.gets = 0

    def get(self, url: str, **kwargs: Any) -> _Answer:
        self.gets += 1
        return _Answer()


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux) to fail writes with ENOSPC")
def test_a_download_onto_a_full_disk_is_not_retried(tmp_path: Path) -> None:
    dest = tmp_path / "part-00000.json.gz"
    # Writes through this name fail as on a full disk (ENOSPC), without filling one.
    dest.with_name(dest.name + ".part").symlink_to("/dev/full")
    sleeps: list[float] = []
    client = DapClient(
        Credentials("http://api.invalid", "id", "secret"), download=DownloadPolicy(max_attempts=5), sleep=sleeps.append
    )
    storage = _Storage()
    client._local.session = storage  # the download session of this thread
    with pytest.raises(DiskFullError) as raised:
        client.download("http://storage.invalid/object", dest)
    assert storage.gets == 1 and sleeps == []  # not retried as a network fault
    error = raised.value
    assert error.what == "download" and error.path == str(dest) and error.needed_bytes == 4 * 4096
    assert "disk full" in str(error) and str(tmp_path) in str(error) and "needs about 16.0 KiB" in str(error)
    assert "16.0 KiB" in error.advice and str(tmp_path) in error.advice
    assert not dest.with_name(dest.name + ".part").exists() and not dest.exists()
