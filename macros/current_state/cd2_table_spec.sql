{#-
    The facts the current-state macros need about one CD2 table, read from its dbt source
    `raw_<namespace>.<table>` (generated `models/current_state/<namespace>/_<namespace>__sources.yml`)
    in dbt's `graph`: namespace and table (`meta.cd2_table`), key (`meta.primary_key`), whether
    its history is kept (`meta.history`) and its CD2 columns with their landing types (each
    column's `data_type`, the load columns left out).

    None when the table has no such source, and at parse time: dbt fills `graph` only at
    execution (the callers' `source()` calls record the dependencies at parse time). Unit tests
    run with an empty `graph` and override it with the source they need.
-#}
{% macro cd2_table_spec(namespace, table) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set node = (graph.sources or {}).get('source.' ~ project_name ~ '.raw_' ~ namespace ~ '.' ~ table) -%}
    {{ return(cd2_source_spec(node) if node and node.meta.cd2_table else none) }}
{% endmacro %}


{#- Every CD2 table's facts (see `cd2_table_spec`), by namespace and table; none at parse time. -#}
{% macro cd2_table_specs() %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set specs = [] -%}
    {%- for node in (graph.sources or {}).values() if node.meta.cd2_table -%}
        {%- do specs.append(cd2_source_spec(node)) -%}
    {%- endfor -%}
    {{ return(specs | sort(attribute='qualified_name')) }}
{% endmacro %}


{#- One source node of `graph.sources` as the facts `cd2_table_spec` returns. -#}
{% macro cd2_source_spec(node) %}
    {%- set load_columns = cd2_load_columns() -%}
    {%- set columns = [] -%}
    {%- for column in node.columns.values() if column.name not in load_columns -%}
        {%- do columns.append([column.name, column.data_type]) -%}
    {%- endfor -%}
    {%- set namespace, table = node.meta.cd2_table.split('.') -%}
    {{ return({
        'qualified_name': node.meta.cd2_table,
        'namespace': namespace,
        'table': table,
        'key': node.meta.primary_key,
        'history': node.meta.history,
        'columns': columns,
    }) }}
{% endmacro %}


{#- The columns `cd2 sync` adds to every raw table (extract/landing/tables.py, LOAD_COLUMNS). -#}
{% macro cd2_load_columns() %}
    {{ return(['_meta_ts', '_meta_action', '_batch_id', '_loaded_at', '_schema_version']) }}
{% endmacro %}
