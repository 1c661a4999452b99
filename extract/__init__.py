"""Canvas Data 2 extractor: DAP Query API client, landing into DuckDB, and local test doubles.

Sub-packages:
    extract.schema     CD2 table schemas (bundled JSON, DAP JSON-Schema dialect, DuckDB types)
    extract.synth      deterministic synthetic Canvas institution with ground truth
    extract.fake_dap   a local, faithful DAP Query API server
"""

__version__ = "0.1.0"
