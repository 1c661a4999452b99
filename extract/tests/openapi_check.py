"""Validate JSON against component schemas of Instructure's DAP OpenAPI spec (0.9.0), Draft 2020-12.

A copy of the spec (a data file, unchanged) is kept in ``extract/tests/data/``;
``DAP_OPENAPI_SPEC`` overrides the path. A missing spec fails the tests.

Deliberate deviations from the spec (the official client wins where they disagree):
  * ``JsonType`` is a ``oneOf`` whose "integer" and "number" branches both match any integer, so
    no schema document with an integer keyword value (``maxLength: 255``) could ever validate;
    it is checked with ``anyOf`` instead.
  * ``SnapshotQuery``/``IncrementalQuery`` have no ``mode`` (the client sends it): request bodies
    are not checked here.
"""

from __future__ import annotations

import copy
import os
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

SPEC_NAME = "dap_openapi_0.9.0.yaml"


def spec_path() -> Path:
    override = os.environ.get("DAP_OPENAPI_SPEC")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent / "data" / SPEC_NAME


@cache
def _components() -> dict[str, Any]:
    path = spec_path()
    if not path.exists():
        pytest.fail(f"OpenAPI spec not found at {path}")
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    components = copy.deepcopy(spec["components"])
    json_type = components["schemas"]["JsonType"]
    json_type["anyOf"] = json_type.pop("oneOf")  # see module docstring
    return components


def _validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    root = {**schema, "components": _components()}
    return jsonschema.Draft202012Validator(root)


def check_component(name: str, instance: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``instance`` matches ``#/components/schemas/<name>``."""
    _validator({"$ref": f"#/components/schemas/{name}"}).validate(instance)


def check_error(name: str, body: Any) -> None:
    """An error response body: ``{"error": <component name>}`` and nothing else."""
    schema = {
        "type": "object",
        "properties": {"error": {"$ref": f"#/components/schemas/{name}"}},
        "required": ["error"],
        "additionalProperties": False,
    }
    _validator(schema).validate(body)


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
