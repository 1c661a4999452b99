"""``cd2 list`` and ``cd2 schema``: what the DAP API offers, asked with the resolved API settings."""

from __future__ import annotations

import argparse
import json

from extract.commands.common import api_client, settings_for
from extract.failures import EXIT_OK
from extract.names import is_safe_name, shown


def list_tables(args: argparse.Namespace) -> int:
    with api_client(settings_for(args)) as client:
        for name in client.list_tables(args.namespace):
            print(name if is_safe_name(name) else shown(name))
    return EXIT_OK


def schema(args: argparse.Namespace) -> int:
    with api_client(settings_for(args)) as client:
        version, doc = client.get_schema(args.namespace, args.table)
    print(json.dumps({"schema": doc, "version": version}, indent=1))
    return EXIT_OK
