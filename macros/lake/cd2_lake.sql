{#-
    The Parquet lake that `cd2 sync --lake` writes (docs/lake.md), as the sources of the `spark`
    target: on-run-start, before anything is built, `cd2_register_lake` keeps in Spark's catalog
    one external table per landed table, `raw_<namespace>.<table>`, over the table's folder, and
    `cd2_meta.batches`, `table_state`, `schema_versions` over the lake's `cd2_meta` files.

    The tables are not partitioned in the catalog: Spark finds the `batch_id=<N>` folders when a
    query reads the table, so a new batch needs no registration. Their columns are written into
    the catalog when a table is created (Spark reads them from the files once: `describe query`,
    every file's columns merged), so a query does not read every file's footer again, as a view
    over the folder would at each reference (measured: 4x slower planning, minutes over the
    tombstone log). A table is created again only when its newest batch's columns differ from
    those it was created with (a new schema version, or another lake): `cd2_meta.lake_tables`
    records each table's signature. Tables with no committed batch get no table (their current
    state is empty, as on DuckDB before a table's first sync). Other engines have no lake.
-#}
{% macro cd2_register_lake() %}
    {{- return(adapter.dispatch('cd2_register_lake', 'cd2')()) -}}
{% endmacro %}

{% macro default__cd2_register_lake() %}
    {{ return('') }}
{% endmacro %}

{% macro spark__cd2_register_lake() %}
    {#-
        Re-creating the tables in `compile` or `docs generate` raced the models' compile-time
        queries (seen: `cd2_meta.batches` not found); those read the tables the last build registered.
    -#}
    {%- if not execute or not cd2_hooks_run_before_nodes() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set lake = cd2_lake_folder() -%}
    {%- do run_query('create schema if not exists cd2_meta') -%}
    {%- for name in ['batches', 'table_state', 'schema_versions'] -%}
        {#- three small files, columns of the extractor's version: always re-read -#}
        {%- do run_query('drop table if exists cd2_meta.' ~ name) -%}
        {%- do run_query(
            'create table cd2_meta.' ~ name ~ ' using parquet location '
            ~ cd2_lake_location(lake ~ '/cd2_meta/' ~ name)
        ) -%}
    {%- endfor -%}
    {%- set newest = {} -%}
    {%- for row in run_query(
        'select namespace, table_name, columns_json from ('
        ~ ' select namespace, table_name, columns_json, row_number() over ('
        ~ ' partition by namespace, table_name order by batch_id desc) as newest_first'
        ~ " from cd2_meta.batches where status = 'committed'"
        ~ ') as committed where newest_first = 1'
    ) -%}
        {%- do newest.update({row[0] ~ '.' ~ row[1]: row[2]}) -%}
    {%- endfor -%}
    {%- do run_query(
        'create table if not exists cd2_meta.lake_tables (relation string, signature string) using parquet'
    ) -%}
    {%- set registered = {} -%}
    {%- for row in run_query('select relation, signature from cd2_meta.lake_tables') -%}
        {%- do registered.update({row[0]: row[1]}) -%}
    {%- endfor -%}
    {%- set existing = {} -%}
    {%- set signatures = {} -%}
    {%- for node in graph.sources.values() if node.meta.cd2_table and node.source_name.startswith('raw_') -%}
        {%- set namespace, table = node.meta.cd2_table.split('.') -%}
        {%- if node.schema not in existing -%}
            {%- do run_query('create schema if not exists ' ~ adapter.quote(node.schema)) -%}
            {%- do existing.update({node.schema: run_query(
                'show tables in ' ~ adapter.quote(node.schema)
            ).columns[1].values() | list}) -%}
        {%- endif -%}
        {%- set relation = adapter.quote(node.schema) ~ '.' ~ adapter.quote(node.identifier) -%}
        {%- set folder = lake ~ '/raw/' ~ namespace ~ '/' ~ table -%}
        {%- if node.meta.cd2_table in newest -%}
            {%- set signature = local_md5(folder ~ '\n' ~ newest[node.meta.cd2_table]) -%}
            {%- do signatures.update({relation: signature}) -%}
            {%- if registered.get(relation) != signature
                or node.identifier | lower not in existing[node.schema] -%}
                {%- do cd2_create_lake_table(relation, folder) -%}
            {%- endif -%}
        {%- else -%}
            {#- not landed (yet): no stale table of an earlier lake either -#}
            {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if signatures != registered -%}
        {%- set rows = [] -%}
        {%- for relation, signature in signatures.items() -%}
            {%- do rows.append('(' ~ cd2_sql_string(relation) ~ ', ' ~ cd2_sql_string(signature) ~ ')') -%}
        {%- endfor -%}
        {%- do run_query(
            'insert overwrite table cd2_meta.lake_tables '
            ~ (('values ' ~ rows | join(', ')) if rows else 'select relation, signature from cd2_meta.lake_tables where false')
        ) -%}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}


{#-
    (Re)create `relation` as an external table over `folder`: its columns are the files' (merged
    across files: spark.sql.parquet.mergeSchema), without the `batch_id` of the folder names,
    which Spark adds when it reads. Dropping an external table leaves its files alone.
-#}
{% macro cd2_create_lake_table(relation, folder) %}
    {%- set columns = [] -%}
    {%- for row in run_query('describe query select * from parquet.' ~ cd2_lake_path(folder)) -%}
        {%- if row[0] != 'batch_id' -%}
            {%- do columns.append('`' ~ (row[0] | replace('`', '``')) ~ '` ' ~ row[1]) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do run_query('drop table if exists ' ~ relation) -%}
    {%- do run_query(
        'create table ' ~ relation ~ ' (' ~ columns | join(', ') ~ ') using parquet location '
        ~ cd2_lake_location(folder)
    ) -%}
{% endmacro %}


{#- The lake folder ($CD2_LAKE), checked: it must be set and fit in a Spark string literal. -#}
{% macro cd2_lake_folder() %}
    {%- set lake = env_var('CD2_LAKE', '') -%}
    {%- if not lake -%}
        {{ exceptions.raise_compiler_error(
            'the spark target reads the Parquet lake that `cd2 sync --lake <folder>` writes: '
            ~ 'set CD2_LAKE to that folder'
        ) }}
    {%- endif -%}
    {%- if "'" in lake -%}
        {#- escapedStringLiterals (profile): a string literal has no escape for a quote -#}
        {{ exceptions.raise_compiler_error(
            'CD2_LAKE ' ~ lake ~ ' has a single quote, which a Spark location cannot hold: '
            ~ 'move or link the lake to a path without one'
        ) }}
    {%- endif -%}
    {{ return(lake.rstrip('/')) }}
{% endmacro %}


{#- A lake path as a Spark location (a string literal; cd2_lake_folder refused quotes). -#}
{% macro cd2_lake_location(path) %}
    {{ return("'" ~ path ~ "'") }}
{% endmacro %}


{#- A lake path as Spark's backquoted path identifier (an embedded backquote doubled). -#}
{% macro cd2_lake_path(path) %}
    {{ return('`' ~ (path | replace('`', '``')) ~ '`') }}
{% endmacro %}
