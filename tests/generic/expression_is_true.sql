{#-
    Fails for every row where `expression` is not true (false or null), like
    dbt_utils.expression_is_true. Use `config: {where: ...}` to restrict the rows checked.
-#}
{% test expression_is_true(model, expression, column_name=none) %}

with

checked as (

    select * from {{ model }}

),

failures as (

    select *
    from checked
    where not coalesce(
        {%- if column_name is not none %} {{ column_name }}{% endif %} {{ expression }},
        false
    )

)

select * from failures

{% endtest %}
