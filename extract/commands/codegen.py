"""``cd2 codegen``: write (or ``--check``) the dbt files generated from the CD2 schemas (``extract.codegen``)."""

from __future__ import annotations

import argparse
import sys

from extract import codegen
from extract.failures import EXIT_FAILED, EXIT_OK


def main(args: argparse.Namespace) -> int:
    schemas = None
    if args.db is not None:  # only a file named here: the generated files must not depend on a local sync
        from extract.database import check_openable
        from extract.dbtgen.db_schemas import schemas_with_db

        check_openable(args.db, read_only=True)
        schemas = schemas_with_db(args.db)
    files = codegen.generated_files(schemas)
    if args.check:
        outdated = codegen.stale(args.project_dir, files)
        for path in outdated:
            print(f"out of date: {path}", file=sys.stderr)
        if outdated:
            print("run `cd2 codegen` and commit the result", file=sys.stderr)
            return EXIT_FAILED
        print(f"{len(files)} generated files are up to date")
        return EXIT_OK
    written = codegen.write(args.project_dir, files)
    print(f"wrote {len(written)} of {len(files)} generated files")
    return EXIT_OK
