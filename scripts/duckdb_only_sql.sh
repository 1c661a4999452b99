#!/usr/bin/env bash
# Issue 23's portability grep: DuckDB-only SQL in models/, macros/ and tests/ outside the engine
# macros that `adapter.dispatch` picks (`duckdb__…` on DuckDB only; `default__…`/`postgres__…`/`spark__…` on
# the others, checked by the differential test; `macros/portable/` holds most of them). Lines of
# Jinja statements and comments are left out (Jinja lists are not SQL).
# Prints file:line:text of each hit; no output means none is left. A guide, not a proof (it cannot
# see, say, a column alias used later in the same select): the proof is the engines' differential
# test, which builds every mart on PostgreSQL (extract/tests/test_engines_differential.py).
cd "$(dirname "$0")/.." || exit 1
pattern='\b(epoch_us|epoch_ms|quantile_cont|median|date_diff|arg_min|arg_max|any_value|regexp_matches|regexp_extract|string_split|list_[a-z_]+|list|len|contains|json_transform|json_valid|json_array_length|unhex|hex|sha256|encode|getvariable|error|struct_pack|year|month|day|isodow|isoyear|week|dayname|strftime|strptime|xor|range)\(|\bqualify\b|\bgroup by all\b|\bignore nulls\b|\binsert or replace\b|\bunion by name\b|\blambda\b|\binterval [0-9]+ [a-z]+| // |::json\b|\bas (double|hugeint|ubigint|utinyint|blob)\)|\[\]'
find models macros tests -name '*.sql' | sort | while read -r file; do
    # blank engine macro blocks and Jinja-only lines, keeping line numbers
    awk '/\{%-? *macro +(duckdb|default|postgres|spark)__/ { inside = 1 }
         { print ((inside || $0 ~ /^ *\{[%#]/) ? "" : $0) }
         /\{%-? *endmacro/ { inside = 0 }' "$file" |
        grep -inE "$pattern" | sed "s|^|$file:|"
done
