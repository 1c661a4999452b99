{#-
    For the incremental key tests: the batch up to which a current-state model's key tests
    passed (`cd2_meta.model_state.tested_batch_id`, recorded by `cd2_record_tested_keys`);
    rows with a newer `_batch_id` are still to check. None (= check the whole table) after a
    full refresh or a first build, when nothing is recorded, when not executing, or when the
    environment variable `CD2_FULL_TESTS` or `CD2_FULL_KEY_TESTS` is `1` or `true` (read at
    run time only, so setting it does not make dbt re-parse the project).
-#}
{% macro cd2_key_test_since(model) %}
    {%- if not execute or cd2_full_tests() -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set state = api.Relation.create(database=model.database, schema='cd2_meta', identifier='model_state') -%}
    {%- set columns = cd2_raw_columns(state) -%}
    {%- if columns is none or 'tested_batch_id' not in columns -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set query -%}
        select max(tested_batch_id)
        from {{ state }}
        where namespace = {{ cd2_sql_string(model.schema) }} and table_name = {{ cd2_sql_string(model.identifier) }}
    {%- endset -%}
    {{ return(run_query(query).columns[0].values()[0]) }}
{% endmacro %}


{#-
    The key values of the rows the incremental key tests still have to check: the whole
    model when `since` (from `cd2_key_test_since`) is none, else rows with a newer `_batch_id`.
-#}
{% macro cd2_untested_keys(model, column_name, since) %}
    select {{ column_name }} as key_value from {{ model }}
    {%- if since is not none %}
        where _batch_id > {{ since }}
    {%- endif %}
{%- endmacro %}
