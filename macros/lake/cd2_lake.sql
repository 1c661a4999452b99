{#-
    The Parquet lake that `cd2 sync --lake` writes (docs/lake.md), as the sources of the `spark`
    target: on-run-start, before anything is built, `cd2_register_lake` (re)creates in Spark's
    catalog one view per table, `raw_<namespace>.<table>`, over the table's folder (every
    `batch_id=<N>` partition, found at query time: a new batch needs no refresh), and
    `cd2_meta.batches`, `table_state`, `schema_versions` over the lake's `cd2_meta` files. The
    views evolve with the files' schema (a column a new schema version adds appears), and read
    Parquet with schema merging (the profile's `spark.sql.parquet.mergeSchema`).

    Only tables the lake has committed batches of get a view (from `cd2_meta.table_state`); the
    current state of the others is empty, as on DuckDB before a table's first sync. Other
    engines have no lake to register.
-#}
{% macro cd2_register_lake() %}
    {{- return(adapter.dispatch('cd2_register_lake', 'cd2')()) -}}
{% endmacro %}

{% macro default__cd2_register_lake() %}
    {{ return('') }}
{% endmacro %}

{% macro spark__cd2_register_lake() %}
    {%- if not execute or flags.WHICH in ('parse', 'compile', 'list', 'ls') -%}
        {{ return('') }}
    {%- endif -%}
    {%- set lake = env_var('CD2_LAKE', '') -%}
    {%- if not lake -%}
        {{ exceptions.raise_compiler_error(
            'the spark target reads the Parquet lake that `cd2 sync --lake <folder>` writes: '
            ~ 'set CD2_LAKE to that folder'
        ) }}
    {%- endif -%}
    {%- do run_query('create schema if not exists cd2_meta') -%}
    {%- for name in ['batches', 'table_state', 'schema_versions'] -%}
        {%- do run_query(
            'create or replace view cd2_meta.' ~ name ~ ' with schema evolution as select * from parquet.'
            ~ cd2_lake_path(lake ~ '/cd2_meta/' ~ name)
        ) -%}
    {%- endfor -%}
    {%- set landed = {} -%}
    {%- for row in run_query(
        'select namespace, table_name from cd2_meta.table_state where watermark is not null'
    ) -%}
        {%- do landed.update({row[0] ~ '.' ~ row[1]: true}) -%}
    {%- endfor -%}
    {%- set schemas = {} -%}
    {%- for node in graph.sources.values() if node.meta.cd2_table and node.source_name.startswith('raw_') -%}
        {%- set namespace, table = node.meta.cd2_table.split('.') -%}
        {%- if node.schema not in schemas -%}
            {%- do run_query('create schema if not exists ' ~ adapter.quote(node.schema)) -%}
            {%- do schemas.update({node.schema: true}) -%}
        {%- endif -%}
        {%- if node.meta.cd2_table in landed -%}
            {%- do run_query(
                'create or replace view ' ~ adapter.quote(node.schema) ~ '.' ~ adapter.quote(node.identifier)
                ~ ' with schema evolution as select * from parquet.'
                ~ cd2_lake_path(lake ~ '/raw/' ~ namespace ~ '/' ~ table)
            ) -%}
        {%- else -%}
            {#- not landed (yet): no stale view of an earlier lake either -#}
            {%- do run_query(
                'drop view if exists ' ~ adapter.quote(node.schema) ~ '.' ~ adapter.quote(node.identifier)
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return('') }}
{% endmacro %}


{#- A lake path as Spark's backquoted path identifier (an embedded backquote doubled). -#}
{% macro cd2_lake_path(path) %}
    {{ return('`' ~ (path | replace('`', '``')) ~ '`') }}
{% endmacro %}
