{#-
    Spark SQL's versions of the project's dispatched macros (issue 24; the macros and what they
    mean: cd2_portable.sql). dbt-spark runs Spark with ANSI mode off; the `spark` profile reads
    string literals as written (`spark.sql.parser.escapedStringLiterals`), as DuckDB and
    PostgreSQL do, so a regular expression is spelt the same on every engine.
-#}

{% macro spark__cd2_microseconds_between(start, end) -%}
    (unix_micros({{ end }}) - unix_micros({{ start }}))
{%- endmacro %}

{% macro spark__cd2_arg_min(expr, key) -%}
    min_by({{ expr }}, {{ key }})
{%- endmacro %}

{% macro spark__cd2_regexp_matches(text, pattern) -%}
    ({{ text }} rlike {{ pattern }})
{%- endmacro %}

{% macro spark__cd2_regexp_group(text, pattern) -%}
    regexp_extract({{ text }}, {{ pattern }}, 1)
{%- endmacro %}

{% macro spark__cd2_integer_divide(numerator, denominator) -%}
    (({{ numerator }}) div {{ denominator }})
{%- endmacro %}

{% macro spark__cd2_each_day(first_date, last_date) -%}
    explode(sequence(cast({{ first_date }} as date), cast({{ last_date }} as date), interval 1 day))
{%- endmacro %}

{% macro spark__cd2_day_name(date) -%}
    date_format({{ date }}, 'EEEE')
{%- endmacro %}

{#- split() takes a regular expression: the separator is matched literally (\Q…\E). -#}
{% macro spark__cd2_first_parts(text, separator, count) -%}
    array_join(slice(split({{ text }}, concat('\Q', {{ separator }}, '\E')), 1, {{ count }}), {{ separator }})
{%- endmacro %}

{#- JSON stays text (Spark has no JSON type), except a list of strings: an array<string>. -#}
{% macro spark__cd2_typed_json(expr, structure) -%}
    {%- set shape = fromjson(structure) -%}
    {%- if shape is sequence and shape is not mapping and shape is not string and shape == ['VARCHAR'] -%}
        from_json({{ expr }}, 'array<string>')
    {%- else -%}
        {{ expr }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__cd2_array_contains(array, value) -%}
    array_contains({{ array }}, {{ value }})
{%- endmacro %}

{% macro spark__cd2_array_overlaps(array, values) -%}
    arrays_overlap({{ array }}, array({{ values | join(', ') }}))
{%- endmacro %}

{% macro spark__cd2_array_count_where(array, element, condition) -%}
    case when {{ array }} is not null then size(filter({{ array }}, {{ element }} -> {{ condition }})) end
{%- endmacro %}

{% macro spark__cd2_array_without_nulls(array) -%}
    filter({{ array }}, element -> element is not null)
{%- endmacro %}

{% macro spark__cd2_empty_text_array() -%}
    cast(array() as array<string>)
{%- endmacro %}

{% macro spark__cd2_any_value(expr) -%}
    any_value({{ expr }}, true)
{%- endmacro %}

{#- null for text that is not a JSON array (Spark's json_array_length says so itself). -#}
{% macro spark__cd2_json_array_length(text) -%}
    json_array_length({{ text }})
{%- endmacro %}

{% macro spark__cd2_ratio(numerator, denominator) -%}
    cast({{ numerator }} as double) / nullif({{ denominator }}, 0)
{%- endmacro %}


{#-
    The pseudonym HMAC (cd2_privacy.sql) on Spark. The secret is read from the JVM's environment,
    never from SQL text: the driver inherits CD2_PSEUDONYM_SECRET from the dbt process (session
    mode) and executors get it through `spark.executorEnv.CD2_PSEUDONYM_SECRET` in the profile
    (Spark redacts settings named like a secret in its UI and logs).
-#}
{% macro cd2_spark_secret() -%}
    reflect('java.lang.System', 'getenv', 'CD2_PSEUDONYM_SECRET')
{%- endmacro %}

{% macro spark__cd2_hmac_key() -%}
    case
        when coalesce({{ cd2_spark_secret() }}, '') = ''
            then raise_error('CD2_PSEUDONYM_SECRET is not set: marts pseudonymise user ids with it (see README, Privacy)')
        when octet_length(encode({{ cd2_spark_secret() }}, 'UTF-8')) > 64
            then raise_error('CD2_PSEUDONYM_SECRET is longer than 64 bytes')
        else rpad(hex(encode({{ cd2_spark_secret() }}, 'UTF-8')), 128, '0')
    end
{%- endmacro %}

{% macro spark__cd2_hmac_pads() -%}
    {%- for name, byte in [('ipad', 54), ('opad', 92)] %}
    unhex(array_join(transform(
        sequence(0, 63),
        i -> lpad(hex(cast(conv(substr(hmac_key, 2 * i + 1, 2), 16, 10) as int) ^ {{ byte }}), 2, '0')
    ), '')) as {{ name }}{{ "," if loop.first }}
    {%- endfor %}
{%- endmacro %}

{% macro spark__cd2_user_key(expr) -%}
    sha2(concat(opad, unhex(sha2(concat(ipad, encode(cast({{ expr }} as string), 'UTF-8')), 256))), 256)
{%- endmacro %}

{#- Naive UTC to naive local time in the institution's zone (the session's zone is UTC). -#}
{% macro spark__cd2_local_ts(expr) -%}
    from_utc_timestamp({{ expr }}, '{{ var("cd2_time_zone") }}')
{%- endmacro %}


{#- collect_list of (order, value) structs, sorted: array_sort orders structs field by field. -#}
{% macro cd2_spark_sorted_values(expr, order_expr, descending) -%}
    {%- set sorted = 'array_sort(collect_list(struct(' ~ order_expr ~ ' as sort_key, ' ~ expr ~ ' as sort_value)))' -%}
    transform({{ 'reverse(' ~ sorted ~ ')' if descending else sorted }}, entry -> entry.sort_value)
{%- endmacro %}

{% macro spark__cd2_ordered_array_agg(expr, order_expr, descending=false) -%}
    {{ cd2_spark_sorted_values(expr, order_expr, descending) }}
{%- endmacro %}

{% macro spark__cd2_ordered_string_agg(expr, separator, order_expr, descending=false) -%}
    array_join({{ cd2_spark_sorted_values(expr, order_expr, descending) }}, {{ separator }})
{%- endmacro %}

{% macro spark__cd2_array_element(array, position) -%}
    try_element_at({{ array }}, {{ position }})
{%- endmacro %}

{% macro spark__cd2_iso_weekday(date) -%}
    (weekday({{ date }}) + 1)
{%- endmacro %}

{#- No delete without Delta/Iceberg: batch-following models are rebuilt whole (DECISIONLOG). -#}
{% macro spark__cd2_merges_batches() -%}
    {{ return(false) }}
{%- endmacro %}

{#- A history table (cd2_history_config) on Spark: each run overwrites the partitions of its own
    period (dynamic partition overwrite), every earlier one stays. -#}
{% macro spark__cd2_history_config(unique_key) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'insert_overwrite',
        'partition_by': [unique_key] if unique_key is string else unique_key,
        'full_refresh': false,
        'on_schema_change': 'append_new_columns',
    }) }}
{%- endmacro %}

{% macro spark__cd2_iso_year(date) -%}
    extract(yearofweek from {{ date }})
{%- endmacro %}

{% macro spark__cd2_type_double() -%}
    double
{%- endmacro %}

{% macro spark__cd2_unnest(array) -%}
    explode({{ array }})
{%- endmacro %}

{% macro spark__cd2_array_of(values) -%}
    array({{ values | join(', ') }})
{%- endmacro %}

{#- Spark replaces every match (its fourth argument is a position, not flags). -#}
{% macro spark__cd2_regexp_replace_all(text, pattern, replacement) -%}
    regexp_replace({{ text }}, {{ pattern }}, {{ replacement }})
{%- endmacro %}

{#- settings-like objects stay JSON text on Spark (spark__cd2_typed_json). -#}
{% macro spark__cd2_json_text(expr, key) -%}
    get_json_object({{ expr }}, '$.{{ key }}')
{%- endmacro %}
