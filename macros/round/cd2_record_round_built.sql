{#-
    on-run-end hook: the models, seeds and snapshots built without error in this invocation are no
    longer due. `cd2 run` writes the round's choice to `cd2_meta.round_pending` before dbt starts
    (extract/round_plan.py); what failed, was skipped after an upstream failure or never ran stays
    there and is built in the next round even if nothing it reads changed again.
-#}
{% macro cd2_record_round_built(results) %}
    {{- return(adapter.dispatch('cd2_record_round_built', 'cd2')(results)) -}}
{% endmacro %}

{% macro default__cd2_record_round_built(results) %}
    {#- nothing to record: only cd2 run's DuckDB rounds plan what to build -#}
{% endmacro %}

{% macro duckdb__cd2_record_round_built(results) %}
    {%- if execute -%}
        {%- set built = [] -%}
        {%- for result in results
            if result.status == 'success' and result.node.resource_type in ['model', 'seed', 'snapshot'] -%}
            {%- do built.append(cd2_sql_string(result.node.name)) -%}
        {%- endfor -%}
        {%- set pending = cd2_existing_table(target.database, 'cd2_meta', 'round_pending') -%}
        {%- if built and pending is not none %}
delete from {{ pending }} where model in ({{ built | join(', ') }})
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
