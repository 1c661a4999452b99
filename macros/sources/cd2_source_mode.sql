{#-
    Where the CD2 tables' current state comes from (issue 23):

    * `cd2` (DuckDB's default): the current-state models that `cd2 sync`'s raw change logs feed;
    * `dap_syncdb` (PostgreSQL's default): the tables Instructure's `dap initdb` / `dap syncdb`
      maintain (`<namespace>.<table>`, deletes already applied) and their meta table
      `instructure_dap.table_sync`. The current-state layer is disabled in this mode.

    var `cd2_source_mode` overrides the target's default. yml files and dbt_project.yml cannot
    call macros: they spell the same default out (`SOURCE_MODE` in extract/dbtgen/sources.py,
    checked by test_dbt_project).
-#}
{% macro cd2_source_mode() %}
    {%- set default = 'dap_syncdb' if target.type == 'postgres' else 'cd2' -%}
    {%- set mode = var('cd2_source_mode', none) or default -%}
    {%- if mode not in ('cd2', 'dap_syncdb') -%}
        {{ exceptions.raise_compiler_error(
            "var cd2_source_mode is '" ~ mode ~ "': it must be 'cd2' (tables from cd2 sync) "
            ~ "or 'dap_syncdb' (tables from Instructure's dap syncdb)"
        ) }}
    {%- endif -%}
    {{ return(mode) }}
{% endmacro %}


{% macro cd2_reads_dap_tables() %}
    {{ return(cd2_source_mode() == 'dap_syncdb') }}
{% endmacro %}


{#-
    The current state of one CD2 table, as staging reads it: the current-state model
    `<namespace>__<table>` in `cd2` mode, dap's table (source `dap_<namespace>`) in `dap_syncdb` mode. Only the chosen
    branch calls ref() or source(), so the disabled side is never a dependency. In `dap_syncdb`
    mode the on-run-start hook `cd2_check_dap_tables` checks the tables first.
-#}
{% macro cd2_current_table(namespace, table) %}
    {%- if cd2_reads_dap_tables() -%}
        {{ return(source('dap_' ~ namespace, table)) }}
    {%- else -%}
        {{ return(ref(namespace ~ '__' ~ table)) }}
    {%- endif -%}
{% endmacro %}


{#-
    Whether staging reads the namespace: always in `cd2` mode; in `dap_syncdb` mode only the
    namespaces of var `cd2_dap_namespaces` (default canvas and canvas_logs, what dap users sync).
-#}
{% macro cd2_reads_namespace(namespace) %}
    {%- if not cd2_reads_dap_tables() -%}
        {{ return(true) }}
    {%- endif -%}
    {{ return(namespace in var('cd2_dap_namespaces', ['canvas', 'canvas_logs'])) }}
{% endmacro %}


{#-
    on-run-start hook of dap_syncdb mode: before anything is built, every dap table the selected
    nodes read (directly or through other models) must be in `instructure_dap.table_sync` at the
    schema version the models are written for (`meta.schema_version` of the generated
    `dap_<namespace>` sources). Otherwise the run stops with one message naming each table and its
    fix, and builds nothing: no marts half-built from some tables, presented as fresh.
-#}
{% macro cd2_check_dap_tables() %}
    {#- commands that build; `docs generate` also runs the hook, and its catalog simply lacks a missing table -#}
    {%- if not execute or not cd2_reads_dap_tables() or not cd2_hooks_run_before_nodes() -%}
        {{ return('') }}
    {%- endif -%}
    {%- set needed = cd2_dap_sources_needed() -%}
    {%- if not needed -%}
        {{ return('') }}
    {%- endif -%}
    {%- set meta_table = source('dap_meta', 'table_sync') -%}
    {%- set meta_name = meta_table.schema ~ '.' ~ meta_table.identifier -%}
    {%- if adapter.get_relation(
        database=meta_table.database, schema=meta_table.schema, identifier=meta_table.identifier
    ) is none -%}
        {{ exceptions.raise_compiler_error(
            'dap_syncdb mode builds on the tables of Instructure\'s dap client, but this database has no '
            ~ meta_name ~ ': no table was loaded with `dap initdb` (' ~ needed | length ~ ' are needed, e.g. '
            ~ needed[0].meta.cd2_table ~ '). Run `dap initdb --namespace <namespace> --table all` first,'
            ~ ' or set var cd2_source_mode: cd2 to build from the tables of cd2 sync'
        ) }}
    {%- endif -%}
    {%- set loaded = {} -%}
    {%- for row in run_query(
        'select source_namespace, source_table, max(schema_version) from ' ~ meta_table ~ ' group by 1, 2'
    ) -%}
        {%- do loaded.update({row[0] ~ '.' ~ row[1]: row[2]}) -%}
    {%- endfor -%}
    {%- set problems = [] -%}
    {%- for node in needed -%}
        {%- set name = node.meta.cd2_table -%}
        {%- set namespace, table = name.split('.') -%}
        {%- set wanted = node.meta.schema_version -%}
        {%- if name not in loaded -%}
            {%- do problems.append(
                name ~ ': not loaded by dap (no row in ' ~ meta_name ~ '); run `dap initdb --namespace '
                ~ namespace ~ ' --table ' ~ table ~ '`'
            ) -%}
        {%- elif wanted is not none and loaded[name] | int < wanted | int -%}
            {%- do problems.append(
                name ~ ': at CD2 schema version ' ~ loaded[name] ~ ', the models need version ' ~ wanted
                ~ ' (columns would be missing); run `dap syncdb --namespace ' ~ namespace ~ ' --table '
                ~ table ~ '`'
            ) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if problems -%}
        {{ exceptions.raise_compiler_error(
            'dap_syncdb mode: ' ~ problems | length ~ ' of the ' ~ needed | length ~ ' dap tables this run reads '
            ~ 'are not ready, so nothing was built:\n  ' ~ problems | join('\n  ')
            ~ '\n(or leave a namespace out with var cd2_dap_namespaces)'
        ) }}
    {%- endif -%}
    {{ return('') }}
{% endmacro %}


{#- The `dap_<namespace>` source nodes upstream of the selected nodes (graph walk), by name. -#}
{% macro cd2_dap_sources_needed() %}
    {%- set seen = {} -%}
    {%- set queue = [] -%}
    {%- for unique_id in selected_resources -%}
        {%- do queue.append(unique_id) -%}
    {%- endfor -%}
    {%- set found = {} -%}
    {#- the loop also visits what it appends (a breadth-first walk over depends_on) -#}
    {%- for unique_id in queue if unique_id not in seen -%}
        {%- do seen.update({unique_id: true}) -%}
        {%- set source_node = graph.sources.get(unique_id) -%}
        {%- if source_node is not none -%}
            {%- if source_node.source_name.startswith('dap_') and source_node.source_name != 'dap_meta' -%}
                {%- do found.update({source_node.meta.cd2_table: source_node}) -%}
            {%- endif -%}
        {%- else -%}
            {%- set node = graph.nodes.get(unique_id) -%}
            {%- for parent in ((node or {}).get('depends_on') or {}).get('nodes', []) -%}
                {%- do queue.append(parent) -%}
            {%- endfor -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set result = [] -%}
    {%- for name in found | sort -%}
        {%- do result.append(found[name]) -%}
    {%- endfor -%}
    {{ return(result) }}
{% endmacro %}


{#-
    The load metadata staging passes on: `cd2 sync`'s per-row `_meta_ts`, `_batch_id`,
    `_loaded_at` and `_schema_version`. dap keeps none of them per row, so in `dap_syncdb` mode
    the first three are typed nulls and `_schema_version` is the table's version in dap's
    `instructure_dap.table_sync` (the hook `cd2_check_dap_tables` checked it before the run)
    (DECISIONLOG: "Two source modes").
-#}
{% macro cd2_load_metadata(namespace, table) %}
    {%- if cd2_reads_dap_tables() -%}
        cast(null as {{ dbt.type_timestamp() }}) as _meta_ts,
        cast(null as {{ dbt.type_bigint() }}) as _batch_id,
        cast(null as {{ dbt.type_timestamp() }}) as _loaded_at,
        cast((
            select max(table_sync.schema_version)
            from {{ source('dap_meta', 'table_sync') }} as table_sync
            where
                table_sync.source_namespace = '{{ namespace | replace("'", "''") }}'
                and table_sync.source_table = '{{ table | replace("'", "''") }}'
        ) as {{ dbt.type_int() }}) as _schema_version
    {%- else -%}
        _meta_ts,
        _batch_id,
        _loaded_at,
        _schema_version
    {%- endif -%}
{% endmacro %}
