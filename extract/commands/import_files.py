"""``cd2 import``: land one job's files downloaded by the official ``dap`` CLI (``extract.sync.importer``)."""

from __future__ import annotations

import argparse

from extract.commands.common import settings_for
from extract.database import check_openable, open_database
from extract.failures import EXIT_OK, UsageError
from extract.sync.importer import ImportPlanError, import_files, plan_import
from extract.writer_lock import hold_writer


def main(args: argparse.Namespace) -> int:
    settings = settings_for(args)
    try:
        plan = plan_import(args.directory, args.namespace, args.table, args.schema_file)
    except ImportPlanError as exc:
        raise UsageError(str(exc), "nothing was imported") from None
    check_openable(settings.db, read_only=False)
    with hold_writer(settings.db, "cd2 import"):
        con = open_database(settings.db, memory_limit=settings.memory_limit, allow_foreign=settings.allow_foreign_db)
        try:
            result, watermark = import_files(con, plan, args.kind, args.csv_null, allow_older=args.allow_older)
        except ImportPlanError as exc:
            raise UsageError(str(exc), "nothing was imported") from None
        finally:
            con.close()
    if result is None or watermark is None:
        print(f"{plan.schema.qualified_name}: the files hold no rows; nothing to import")
        return EXIT_OK
    print(
        f"{plan.schema.qualified_name}: imported {result.rows:,} rows ({result.upserts:,} upserts, "
        f"{result.deletes:,} deletes) from {len(plan.files)} {plan.fmt} file(s) as batch {result.batch_id}; "
        f"watermark {watermark.isoformat()}Z"
    )
    return EXIT_OK
