{#-
    Fails for every combination of the given columns that occurs more than once, like
    dbt_utils.unique_combination_of_columns (null values count as equal).
-#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

with

checked as (

    select * from {{ model }}

),

duplicates as (

    select
        {{ combination_of_columns | join(',\n        ') }},
        count(*) as occurrences
    from checked
    group by
        {{ combination_of_columns | join(',\n        ') }}
    having count(*) > 1

)

select * from duplicates

{% endtest %}
