"""Conformance suite: Instructure's own ``dap`` CLI run against the fake DAP server.

Helpers: ``dapcli`` (the client's private venv and how to run it), ``parse_files`` (independent
parsers of the downloaded files into canonical Python values) and ``truth`` (the same canonical
rows read from the synthetic store with DuckDB).
"""
