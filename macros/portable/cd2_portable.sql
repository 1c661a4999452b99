{#-
    SQL that differs between engines, behind `adapter.dispatch` (issue 23): `duckdb__` is what the
    models always ran on DuckDB (their results must not move), `default__` is standard SQL as
    PostgreSQL runs it. Models call these instead of an engine's own function.
-#}

{#- Microseconds from `start` to `end`, a bigint (negative when `end` is earlier). -#}
{% macro cd2_microseconds_between(start, end) %}
    {{- return(adapter.dispatch('cd2_microseconds_between', 'cd2')(start, end)) -}}
{% endmacro %}

{% macro default__cd2_microseconds_between(start, end) -%}
    cast(round(extract(epoch from ({{ end }}) - ({{ start }})) * 1000000) as bigint)
{%- endmacro %}

{% macro duckdb__cd2_microseconds_between(start, end) -%}
    (epoch_us({{ end }}) - epoch_us({{ start }}))
{%- endmacro %}


{#- The continuous percentile `fraction` of `expr` (an aggregate; a `filter (...)` may follow). -#}
{% macro cd2_percentile_cont(expr, fraction) %}
    {{- return(adapter.dispatch('cd2_percentile_cont', 'cd2')(expr, fraction)) -}}
{% endmacro %}

{% macro default__cd2_percentile_cont(expr, fraction) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__cd2_percentile_cont(expr, fraction) -%}
    quantile_cont({{ expr }}, {{ fraction }})
{%- endmacro %}


{#- The value of `expr` on the row with the smallest `key` (an aggregate). -#}
{% macro cd2_arg_min(expr, key) %}
    {{- return(adapter.dispatch('cd2_arg_min', 'cd2')(expr, key)) -}}
{% endmacro %}

{% macro default__cd2_arg_min(expr, key) -%}
    (array_agg({{ expr }} order by {{ key }}))[1]
{%- endmacro %}

{% macro duckdb__cd2_arg_min(expr, key) -%}
    arg_min({{ expr }}, {{ key }})
{%- endmacro %}


{#- Whether `text` matches the regular expression `pattern` (a SQL string literal). -#}
{% macro cd2_regexp_matches(text, pattern) %}
    {{- return(adapter.dispatch('cd2_regexp_matches', 'cd2')(text, pattern)) -}}
{% endmacro %}

{% macro default__cd2_regexp_matches(text, pattern) -%}
    ({{ text }} ~ {{ pattern }})
{%- endmacro %}

{% macro duckdb__cd2_regexp_matches(text, pattern) -%}
    regexp_matches({{ text }}, {{ pattern }})
{%- endmacro %}


{#- The first capture group of `pattern` in `text` (empty string or null when it does not match). -#}
{% macro cd2_regexp_group(text, pattern) %}
    {{- return(adapter.dispatch('cd2_regexp_group', 'cd2')(text, pattern)) -}}
{% endmacro %}

{% macro default__cd2_regexp_group(text, pattern) -%}
    substring({{ text }} from {{ pattern }})
{%- endmacro %}

{% macro duckdb__cd2_regexp_group(text, pattern) -%}
    regexp_extract({{ text }}, {{ pattern }}, 1)
{%- endmacro %}


{#- `numerator` divided by `denominator`, both integers, truncated toward zero (an integer). -#}
{% macro cd2_integer_divide(numerator, denominator) %}
    {{- return(adapter.dispatch('cd2_integer_divide', 'cd2')(numerator, denominator)) -}}
{% endmacro %}

{% macro default__cd2_integer_divide(numerator, denominator) -%}
    (({{ numerator }}) / {{ denominator }})
{%- endmacro %}

{% macro duckdb__cd2_integer_divide(numerator, denominator) -%}
    (({{ numerator }}) // {{ denominator }})
{%- endmacro %}


{#- A select-list expression giving one row per day from `first_date` to `last_date` (dates). -#}
{% macro cd2_each_day(first_date, last_date) %}
    {{- return(adapter.dispatch('cd2_each_day', 'cd2')(first_date, last_date)) -}}
{% endmacro %}

{% macro default__cd2_each_day(first_date, last_date) -%}
    cast(generate_series({{ first_date }}, {{ last_date }}, interval '1 day') as date)
{%- endmacro %}

{% macro duckdb__cd2_each_day(first_date, last_date) -%}
    cast(unnest(generate_series({{ first_date }}, {{ last_date }}, interval 1 day)) as date)
{%- endmacro %}


{#- The English name of a date's weekday (`Monday` … `Sunday`). -#}
{% macro cd2_day_name(date) %}
    {{- return(adapter.dispatch('cd2_day_name', 'cd2')(date)) -}}
{% endmacro %}

{% macro default__cd2_day_name(date) -%}
    to_char({{ date }}, 'FMDay')
{%- endmacro %}

{% macro duckdb__cd2_day_name(date) -%}
    dayname({{ date }})
{%- endmacro %}


{#- The first `count` parts of `text` split on `separator`, joined by it again. -#}
{% macro cd2_first_parts(text, separator, count) %}
    {{- return(adapter.dispatch('cd2_first_parts', 'cd2')(text, separator, count)) -}}
{% endmacro %}

{% macro default__cd2_first_parts(text, separator, count) -%}
    array_to_string((string_to_array({{ text }}, {{ separator }}))[1:{{ count }}], {{ separator }})
{%- endmacro %}

{% macro duckdb__cd2_first_parts(text, separator, count) -%}
    array_to_string(string_split({{ text }}, {{ separator }})[1:{{ count }}], {{ separator }})
{%- endmacro %}


{#-
    A nested CD2 value (landed JSON) as staging types it; `structure` is its JSON structure (the
    DuckDB types of its properties). DuckDB: a STRUCT or LIST of it (`json_transform`).
    Elsewhere the JSON document stays a document (PostgreSQL: `jsonb`, as dap stores it), except
    a list of strings, which becomes the engine's array of text, so models can ask what it holds.
-#}
{% macro cd2_typed_json(expr, structure) %}
    {{- return(adapter.dispatch('cd2_typed_json', 'cd2')(expr, structure)) -}}
{% endmacro %}

{% macro default__cd2_typed_json(expr, structure) -%}
    {%- set shape = fromjson(structure) -%}
    {%- if shape is sequence and shape is not mapping and shape is not string and shape == ['VARCHAR'] -%}
        {#- to_jsonb: dap keeps such a list as jsonb or as an array (of text or of an ENUM) -#}
        case when jsonb_typeof(to_jsonb({{ expr }})) = 'array' then array(
            select jsonb_array_elements_text(to_jsonb({{ expr }}))
        ) end
    {%- else -%}
        to_jsonb({{ expr }})
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__cd2_typed_json(expr, structure) -%}
    json_transform(
        {{ expr }},
        '{{ structure | replace("'", "''") }}'
    )
{%- endmacro %}


{#- Whether the array of text `array` holds `value` (a SQL expression); null for a null array. -#}
{% macro cd2_array_contains(array, value) %}
    {{- return(adapter.dispatch('cd2_array_contains', 'cd2')(array, value)) -}}
{% endmacro %}

{% macro default__cd2_array_contains(array, value) -%}
    ({{ value }} = any({{ array }}))
{%- endmacro %}

{% macro duckdb__cd2_array_contains(array, value) -%}
    list_contains({{ array }}, {{ value }})
{%- endmacro %}


{#- Whether the array of text `array` holds any of `values` (a list of SQL expressions). -#}
{% macro cd2_array_overlaps(array, values) %}
    {{- return(adapter.dispatch('cd2_array_overlaps', 'cd2')(array, values)) -}}
{% endmacro %}

{% macro default__cd2_array_overlaps(array, values) -%}
    ({{ array }} && array[{{ values | join(', ') }}])
{%- endmacro %}

{% macro duckdb__cd2_array_overlaps(array, values) -%}
    list_has_any({{ array }}, [{{ values | join(', ') }}])
{%- endmacro %}


{#-
    How many elements of the array `array` meet `condition`, a SQL condition on the element named
    `element`; null for a null array.
-#}
{% macro cd2_array_count_where(array, element, condition) %}
    {{- return(adapter.dispatch('cd2_array_count_where', 'cd2')(array, element, condition)) -}}
{% endmacro %}

{% macro default__cd2_array_count_where(array, element, condition) -%}
    case when {{ array }} is not null then (
        select count(*) from unnest({{ array }}) as elements ({{ element }}) where {{ condition }}
    ) end
{%- endmacro %}

{% macro duckdb__cd2_array_count_where(array, element, condition) -%}
    len(list_filter({{ array }}, lambda {{ element }}: {{ condition }}))
{%- endmacro %}


{#- The array of text `array` without its null elements. -#}
{% macro cd2_array_without_nulls(array) %}
    {{- return(adapter.dispatch('cd2_array_without_nulls', 'cd2')(array)) -}}
{% endmacro %}

{% macro default__cd2_array_without_nulls(array) -%}
    array_remove({{ array }}, null)
{%- endmacro %}

{% macro duckdb__cd2_array_without_nulls(array) -%}
    list_filter({{ array }}, lambda element: element is not null)
{%- endmacro %}


{#- An empty array of text. -#}
{% macro cd2_empty_text_array() %}
    {{- return(adapter.dispatch('cd2_empty_text_array', 'cd2')()) -}}
{% endmacro %}

{% macro default__cd2_empty_text_array() -%}
    cast(array[] as text[])
{%- endmacro %}

{% macro duckdb__cd2_empty_text_array() -%}
    []
{%- endmacro %}


{#- Any one non-null value of `expr` in the group (an aggregate, for values equal within the group). -#}
{% macro cd2_any_value(expr) %}
    {{- return(adapter.dispatch('cd2_any_value', 'cd2')(expr)) -}}
{% endmacro %}

{% macro default__cd2_any_value(expr) -%}
    min({{ expr }})
{%- endmacro %}

{% macro duckdb__cd2_any_value(expr) -%}
    any_value({{ expr }})
{%- endmacro %}


{#-
    The number of elements of `text`, a JSON array held as text; null when it is not one
    (DuckDB: also when it is not valid JSON; PostgreSQL before 16 has no safe validity check, so a
    text that starts like an array but is not valid JSON fails the model instead of counting 0).
-#}
{% macro cd2_json_array_length(text) %}
    {{- return(adapter.dispatch('cd2_json_array_length', 'cd2')(text)) -}}
{% endmacro %}

{% macro default__cd2_json_array_length(text) -%}
    case when {{ text }} ~ '^\s*\[' then jsonb_array_length(cast({{ text }} as jsonb)) end
{%- endmacro %}

{% macro duckdb__cd2_json_array_length(text) -%}
    case when json_valid({{ text }}) then json_array_length({{ text }}) end
{%- endmacro %}


{#-
    `numerator` / `denominator` as a double, null when the denominator is 0 or null (DuckDB's `/`
    gives inf there, PostgreSQL's fails; PostgreSQL's also truncates integers).
-#}
{% macro cd2_ratio(numerator, denominator) %}
    {{- return(adapter.dispatch('cd2_ratio', 'cd2')(numerator, denominator)) -}}
{% endmacro %}

{% macro default__cd2_ratio(numerator, denominator) -%}
    cast({{ numerator }} as double precision) / nullif({{ denominator }}, 0)
{%- endmacro %}

{% macro duckdb__cd2_ratio(numerator, denominator) -%}
    {{ numerator }} / nullif({{ denominator }}, 0)
{%- endmacro %}


{#- The array of `expr` over the group, ordered by `order_expr` (an aggregate; nulls of `expr` kept). -#}
{% macro cd2_ordered_array_agg(expr, order_expr, descending=false) %}
    {{- return(adapter.dispatch('cd2_ordered_array_agg', 'cd2')(expr, order_expr, descending)) -}}
{% endmacro %}

{% macro default__cd2_ordered_array_agg(expr, order_expr, descending=false) -%}
    array_agg({{ expr }} order by {{ order_expr }}{{ ' desc' if descending }})
{%- endmacro %}


{#- `expr` (text) over the group joined by `separator`, ordered by `order_expr`; nulls skipped. -#}
{% macro cd2_ordered_string_agg(expr, separator, order_expr, descending=false) %}
    {{- return(adapter.dispatch('cd2_ordered_string_agg', 'cd2')(expr, separator, order_expr, descending)) -}}
{% endmacro %}

{% macro default__cd2_ordered_string_agg(expr, separator, order_expr, descending=false) -%}
    string_agg({{ expr }}, {{ separator }} order by {{ order_expr }}{{ ' desc' if descending }})
{%- endmacro %}


{#- The `position`-th element (from 1) of the array `array`; null past its end. -#}
{% macro cd2_array_element(array, position) %}
    {{- return(adapter.dispatch('cd2_array_element', 'cd2')(array, position)) -}}
{% endmacro %}

{% macro default__cd2_array_element(array, position) -%}
    {{ array }}[{{ position }}]
{%- endmacro %}


{#- ISO day of the week of a date: 1 Monday … 7 Sunday. -#}
{% macro cd2_iso_weekday(date) %}
    {{- return(adapter.dispatch('cd2_iso_weekday', 'cd2')(date)) -}}
{% endmacro %}

{% macro default__cd2_iso_weekday(date) -%}
    extract(isodow from {{ date }})
{%- endmacro %}


{#- Whether models that follow `cd2 sync`'s batches can be merged incrementally here (the engine can
    delete rows of a table); elsewhere they are rebuilt whole on every run. -#}
{% macro cd2_merges_batches() %}
    {{- return(adapter.dispatch('cd2_merges_batches', 'cd2')()) -}}
{% endmacro %}

{% macro default__cd2_merges_batches() -%}
    {{ return(not cd2_reads_dap_tables()) }}
{%- endmacro %}


{#- The ISO 8601 week-numbering year of a date (the year its ISO week belongs to). -#}
{% macro cd2_iso_year(date) %}
    {{- return(adapter.dispatch('cd2_iso_year', 'cd2')(date)) -}}
{% endmacro %}

{% macro default__cd2_iso_year(date) -%}
    extract(isoyear from {{ date }})
{%- endmacro %}


{#- The type of a double-precision float. -#}
{% macro cd2_type_double() %}
    {{- return(adapter.dispatch('cd2_type_double', 'cd2')()) -}}
{% endmacro %}

{% macro default__cd2_type_double() -%}
    double precision
{%- endmacro %}


{#- A select-list expression giving one row per element of the array `array` (none for a null one). -#}
{% macro cd2_unnest(array) %}
    {{- return(adapter.dispatch('cd2_unnest', 'cd2')(array)) -}}
{% endmacro %}

{% macro default__cd2_unnest(array) -%}
    unnest({{ array }})
{%- endmacro %}


{#- An array of the SQL expressions `values`. -#}
{% macro cd2_array_of(values) %}
    {{- return(adapter.dispatch('cd2_array_of', 'cd2')(values)) -}}
{% endmacro %}

{% macro default__cd2_array_of(values) -%}
    array[{{ values | join(', ') }}]
{%- endmacro %}


{#- `text` with every match of `pattern` replaced by `replacement` (SQL string literals). -#}
{% macro cd2_regexp_replace_all(text, pattern, replacement) %}
    {{- return(adapter.dispatch('cd2_regexp_replace_all', 'cd2')(text, pattern, replacement)) -}}
{% endmacro %}

{% macro default__cd2_regexp_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }}, 'g')
{%- endmacro %}


{#- The text of the property `key` of a nested CD2 object as staging types it (cd2_typed_json:
    DuckDB a STRUCT, PostgreSQL jsonb, Spark JSON text); null when the object or the key is absent. -#}
{% macro cd2_json_text(expr, key) %}
    {{- return(adapter.dispatch('cd2_json_text', 'cd2')(expr, key)) -}}
{% endmacro %}

{% macro default__cd2_json_text(expr, key) -%}
    ({{ expr }} ->> '{{ key }}')
{%- endmacro %}

{% macro duckdb__cd2_json_text(expr, key) -%}
    cast(struct_extract({{ expr }}, '{{ key }}') as varchar)
{%- endmacro %}
