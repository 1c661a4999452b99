#!/usr/bin/env bash
# Issue 23's portability grep: DuckDB-only SQL left in models/ and macros/ outside the engine
# macros of macros/portable/ (where `duckdb__` variants hold it on purpose). Prints file:line:text;
# docs/portability.md records what it printed and what is left to port.
cd "$(dirname "$0")/.." || exit 1
grep -rEn --include=*.sql \
  '\b(epoch_us|epoch_ms|quantile_cont|median|date_diff|arg_min|arg_max|regexp_matches|regexp_extract|string_split|list_[a-z_]+|list|len|contains|json_transform|unhex|hex|sha256|encode|getvariable|generate_series|struct_pack|year|month|day|isodow|isoyear|week|dayname|strftime|strptime)\(|\bqualify\b|\binterval [0-9]+ [a-z]+|[^/]//[^/]|::json\b' \
  models macros | grep -v '^macros/portable/'
