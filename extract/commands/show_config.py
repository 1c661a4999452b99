"""``cd2 config``: every resolved setting, its value and where it came from; secrets masked."""

from __future__ import annotations

import argparse
import json
from typing import Any

from extract import config as cfg
from extract.commands.common import settings_for
from extract.failures import EXIT_OK

MASK = "****"  # a secret that is set; its value is never printed


def main(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    rows = setting_rows(settings)
    if args.json:
        print(json.dumps({"config_file": settings.source, "settings": rows}, indent=1))
        return EXIT_OK
    print(f"settings file: {settings.source if settings.source != 'defaults' else 'none found'}")
    width = max(len(row["setting"]) for row in rows)
    value_width = min(max(len(row["value"]) for row in rows), 40)
    for row in rows:
        print(f"{row['setting']:<{width}}  {row['value']:<{value_width}}  {row['from']}")
    return EXIT_OK


def setting_rows(settings: cfg.RunConfig) -> list[dict[str, str]]:
    """One row per declared setting: name, shown value (a secret only as set or not), origin."""
    return [
        {
            "setting": name,
            "value": _shown(cfg.value_of(settings, name), how.secret),
            "from": settings.origin(name),
        }
        for name, how in cfg.declared_settings()
    ]


def _shown(value: Any, secret: bool) -> str:
    if secret:
        return MASK if value else "(not set)"
    if value is None:
        return "(not set)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)
