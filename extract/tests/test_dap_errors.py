"""Error bodies of the DAP API map to typed errors; SnapshotRequired is told from OutOfRange."""

from __future__ import annotations

import pytest

from extract.dap import errors as e


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
