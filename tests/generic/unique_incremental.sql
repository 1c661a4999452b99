{#-
    `unique` for the key of a current-state model, checked incrementally: fails for every
    non-null key value that occurs on more than one row, looking only at the values of rows
    not yet checked (a `_batch_id` newer than `cd2_meta.model_state.tested_batch_id`, the
    batch up to which the model's key tests last passed), each counted over the whole table.
    The rows checked before passed, and a merge can only duplicate a key it writes, so this
    is as strict as a full check at a fraction of the cost. The whole table is checked after
    a full refresh or a first build (nothing tested yet), and always with
    `CD2_FULL_KEY_TESTS=1` in the environment.
-#}
{% test unique_incremental(model, column_name) %}
    {%- set since = cd2_key_test_since(model) %}

with

checked as (

    select {{ column_name }} as key_value from {{ model }}

),
{%- if since is not none %}

untested as (

    {{ cd2_untested_keys(model, column_name, since) }}

),
{%- endif %}

duplicates as (

    select
        key_value,
        count(*) as occurrences
    from checked
    where
        key_value is not null
        {%- if since is not none %}
            and key_value in (select untested.key_value from untested)
        {%- endif %}
    group by key_value
    having count(*) > 1

)

select * from duplicates

{% endtest %}
