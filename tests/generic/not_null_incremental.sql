{#-
    `not_null` for the key of a current-state model, checked incrementally: fails for every
    row with a null value among the rows not yet checked (see `unique_incremental`); the
    whole table after a full refresh or a first build, and always with `CD2_FULL_KEY_TESTS=1`
    in the environment.
-#}
{% test not_null_incremental(model, column_name) %}
    {%- set since = cd2_key_test_since(model) %}

with

checked as (

    {{ cd2_untested_keys(model, column_name, since) }}

),

null_keys as (

    select key_value from checked
    where key_value is null

)

select * from null_keys

{% endtest %}
