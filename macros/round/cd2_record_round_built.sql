{#-
    on-run-end hook: the models, seeds and snapshots built without error in this invocation are no
    longer due. `cd2 run` writes the round's choice to `cd2_meta.round_pending` before dbt starts
    (extract/round_plan.py); what failed, was skipped after an upstream failure or never ran stays
    there and is built in the next round even if nothing it reads changed again.
    It also records the "now" (`int_core__as_of`) each of them was built with in
    `cd2_meta.round_now`: a round keeps a model that reads now only for its stamp or its local
    day while that holds (extract/round_now.py).
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
delete from {{ pending }} where model in ({{ built | join(', ') }});
        {%- endif -%}
        {%- set round_now = cd2_existing_table(target.database, 'cd2_meta', 'round_now') -%}
        {%- set now_nodes = graph.nodes.values() | selectattr('name', 'equalto', 'int_core__as_of') | list -%}
        {%- set now = cd2_existing_table(now_nodes[0].database, now_nodes[0].schema, now_nodes[0].alias)
            if now_nodes else none -%}
        {%- if built and round_now is not none and now is not none %}
insert or replace into {{ round_now }} (model, as_of_ts, as_of_local_date)
select built.model, now.as_of_ts, now.as_of_local_date
from (values ({{ built | join('), (') }})) as built (model)
cross join {{ now }} as now
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
