"""``cd2 report``: the static learning-analytics report site from the marts (``extract.report``).

Read-only on the warehouse: while a round writes the working file, the copy published for
readers is read (as ``cd2 status`` does).
"""

from __future__ import annotations

import argparse

from extract.commands.common import settings_for
from extract.failures import EXIT_OK, UsageError
from extract.report import SITE_DIR, build_report, project_settings
from extract.run import dbt_target_dir
from extract.status import open_for_status


def main(args: argparse.Namespace) -> int:
    if not (args.project_dir / "dbt_project.yml").is_file():
        raise UsageError(
            f"{args.project_dir} holds no dbt_project.yml", "run from the project folder or pass --project-dir"
        )
    settings = settings_for(args)
    project, min_cell = project_settings(args.project_dir)
    out = args.out if args.out is not None else dbt_target_dir(args.project_dir) / SITE_DIR
    con, note = open_for_status(settings.db)
    try:
        try:
            result = build_report(
                con, out, project, min_cell, docs_url=args.docs_url, student_rows=not args.without_student_rows
            )
        except (LookupError, FileExistsError) as exc:
            raise UsageError(str(exc), "build the marts first, or pass --out with a new or report folder") from None
    finally:
        con.close()
    if note:
        print(note)
    print(f"report site: {result.path} ({result.pages} pages, {result.charts} charts in {result.seconds:.1f} s)")
    return EXIT_OK
