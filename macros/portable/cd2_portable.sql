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
