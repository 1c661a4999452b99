"""Validate JSON against Instructure's DAP OpenAPI spec (0.9.0), Draft 2020-12: component schemas,
and the response schema the spec declares for a path, method, status and media type.

A copy of the spec (a data file, unchanged) is kept in ``extract/tests/data/``;
``DAP_OPENAPI_SPEC`` overrides the path. A missing spec fails the tests. The formats ``date-time``
(RFC 3339, with a zone) and ``uri`` are checked, not just annotated.

The spec has errors of its own (``docs/dap_openapi_notes.md``); the fake is not bent to them.
Where a ``oneOf`` lists branches that cannot be told apart, no answer can ever match exactly one
of them; such a place is a ``Deviation``, read as ``anyOf`` instead:

  * ``JsonType`` (``JSON_TYPE_NUMBERS``): its "integer" and "number" branches both match any
    integer, so no schema document with an integer keyword value (``maxLength: 255``) validates.
  * the 400 of ``POST /query/{namespace}/table/{table}/data`` (``RANGE_ERRORS``):
    ``OutOfRangeError`` and ``SnapshotRequiredError`` are the same schema.
  * the 500 of every path (``SERVER_ERRORS``): "not onboarded", "forbidden" and
    ``ProcessingError`` are the same schema.

``check_component``/``check_error``/``check_job`` always read ``JsonType`` as ``anyOf``.
``check_response`` validates against the spec as written first, and only on failure tries each
deviation; it returns the one the body needed, so a test can insist a deviation is still needed.

Request bodies are not checked: ``SnapshotQuery``/``IncrementalQuery`` have no ``mode``, which the
official client sends.
"""

from __future__ import annotations

import copy
import os
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

SPEC_NAME = "dap_openapi_0.9.0.yaml"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_MEDIA_TYPE = "application/json"

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C loader reads the 480 kB spec 10x faster
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")


@dataclass(frozen=True, order=True)
class SpecResponse:
    """One documented answer: a path of the spec (without the server's ``/dap``), a lower-case
    method and a status as the spec spells it (``"200"``)."""

    path: str
    method: str
    status: str

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path} {self.status}"


@dataclass(frozen=True)
class Deviation:
    """A ``oneOf`` of the spec read as ``anyOf``, at each of ``pointers`` (key paths into the spec)."""

    name: str
    pointers: tuple[tuple[str, ...], ...]


def _response_schema_pointer(path: str, method: str, status: str, *below: str) -> tuple[str, ...]:
    return ("paths", path, method, "responses", status, "content", JSON_MEDIA_TYPE, "schema", *below)


DATA_PATH = "/query/{namespace}/table/{table}/data"
JSON_TYPE_NUMBERS = Deviation("JsonType integer/number overlap", (("components", "schemas", "JsonType"),))
RANGE_ERRORS = Deviation(
    "OutOfRangeError = SnapshotRequiredError",
    (_response_schema_pointer(DATA_PATH, "post", "400", "properties", "error"),),
)
SERVER_ERRORS = Deviation(
    "500 variants identical",
    tuple(
        _response_schema_pointer(path, method, "500", "properties", "error")
        for path, method in (
            ("/job/{id}", "get"),
            ("/object/url", "post"),
            (DATA_PATH, "post"),
            ("/query/{namespace}/table", "get"),
            ("/query/{namespace}/table/{table}/schema", "get"),
        )
    ),
)
DEVIATIONS = (JSON_TYPE_NUMBERS, RANGE_ERRORS, SERVER_ERRORS)


def spec_path() -> Path:
    override = os.environ.get("DAP_OPENAPI_SPEC")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent / "data" / SPEC_NAME


@cache
def spec() -> dict[str, Any]:
    """The spec as written (do not modify the returned document)."""
    path = spec_path()
    if not path.exists():
        pytest.fail(f"OpenAPI spec not found at {path}")
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # a safe loader (C or pure Python)


@cache
def _patched_spec(deviations: tuple[Deviation, ...]) -> dict[str, Any]:
    patched = copy.deepcopy(spec())
    for deviation in deviations:
        for pointer in deviation.pointers:
            node = _lookup(patched, pointer)
            if "oneOf" not in node:
                pytest.fail(f"deviation {deviation.name!r}: no oneOf at {'/'.join(pointer)} any more")
            node["anyOf"] = node.pop("oneOf")
    return patched


def _lookup(document: dict[str, Any], pointer: tuple[str, ...]) -> dict[str, Any]:
    node: Any = document
    for key in pointer:
        node = node[key]
    return node


def documented_responses() -> list[SpecResponse]:
    """Every (path, method, status) the spec's ``paths`` declare, in the spec's order."""
    found = []
    for path, item in spec()["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                found += [SpecResponse(path, method, str(status)) for status in operation["responses"]]
    return found


def documented_media_types(response: SpecResponse) -> list[str]:
    """The media types the spec declares for this answer (empty: no body)."""
    declared = spec()["paths"][response.path][response.method]["responses"][response.status]
    return list(declared.get("content", {}))


def server_path_prefix() -> str:
    """The path of the spec's first server URL (``/dap``): the spec's paths are relative to it."""
    return urlsplit(spec()["servers"][0]["url"]).path.rstrip("/")


# ---- formats ---------------------------------------------------------------------------------------
def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True  # formats only constrain strings
    if not _RFC3339.match(value):
        return False
    text = re.sub(r"(\.\d{6})\d+", r"\1", value).replace("z", "Z").replace("t", "T")
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _is_absolute_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return bool(_URI_SCHEME.match(parts.scheme)) and bool(parts.netloc or parts.path)


def _format_checker() -> jsonschema.FormatChecker:
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("date-time")(_is_rfc3339)
    checker.checks("uri")(_is_absolute_uri)
    return checker


FORMAT_CHECKER = _format_checker()


# ---- validation ------------------------------------------------------------------------------------
def _validator(schema: dict[str, Any], document: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A validator for ``schema`` whose ``#/components/…`` references resolve in ``document``."""
    root = {**schema, "components": document["components"]}
    return jsonschema.Draft202012Validator(root, format_checker=FORMAT_CHECKER)


def _component_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return _validator(schema, _patched_spec((JSON_TYPE_NUMBERS,)))


def check_component(name: str, instance: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` matches ``#/components/schemas/<name>``."""
    _component_validator({"$ref": f"#/components/schemas/{name}"}).validate(instance)


def check_error(name: str, body: Any) -> None:
    """An error response body: ``{"error": <component name>}`` and nothing else."""
    schema = {
        "type": "object",
        "properties": {"error": {"$ref": f"#/components/schemas/{name}"}},
        "required": ["error"],
        "additionalProperties": False,
    }
    _component_validator(schema).validate(body)


def check_job(body: dict[str, Any]) -> str:
    """Validate a job response against the variant its key set selects; returns that variant's name."""
    keys = set(body)
    if body.get("status") in ("waiting", "running"):
        name = "TableJob"
    elif "error" in keys:
        name = "FailedJob"
    elif "at" in keys:
        name = "CompleteSnapshotJob"
    else:
        name = "CompleteIncrementalJob"
    check_component(name, body)
    return name


def _response_error(document: dict[str, Any], response: SpecResponse, media_type: str, body: Any) -> str | None:
    declared = _lookup(document, ("paths", response.path, response.method, "responses", response.status))
    schema = declared["content"][media_type]["schema"]
    error = jsonschema.exceptions.best_match(_validator(schema, document).iter_errors(body))
    return None if error is None else f"{error.message} (at {'/'.join(map(str, error.absolute_path)) or 'root'})"


def check_response(response: SpecResponse, media_type: str, body: Any) -> Deviation | None:
    """Validate ``body`` against the schema the spec declares for ``response`` and ``media_type``.

    Returns None if the spec as written accepts it, else the deviation it needed; raises
    ``AssertionError`` if the answer is not documented or matches neither."""
    declared = documented_media_types(response)
    assert media_type in declared, f"{response}: media type {media_type!r} not documented (spec: {declared})"
    error = _response_error(spec(), response, media_type, body)
    if error is None:
        return None
    for deviation in DEVIATIONS:
        if _response_error(_patched_spec((deviation,)), response, media_type, body) is None:
            return deviation
    raise AssertionError(f"{response}: the body does not match the spec: {error}")
