{#-
    The column names of a landed raw table, or none when it does not exist (the table was
    never synced). The current-state models' only look at the raw tables, so unit tests can
    override it with a list of names. One catalog query: dbt's relation cache does not hold
    the raw and metadata schemas (sources), so `adapter.get_relation` would list the whole
    schema on every call.
-#}
{% macro cd2_raw_columns(relation) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{- return(adapter.dispatch('cd2_raw_columns', 'cd2')(relation)) -}}
{% endmacro %}

{% macro default__cd2_raw_columns(relation) %}
    {%- set query -%}
        select lower(column_name)
        from information_schema.columns
        where
            table_catalog = {{ cd2_sql_string(relation.database) }}
            and table_schema = {{ cd2_sql_string(relation.schema) }}
            and table_name = {{ cd2_sql_string(relation.identifier) }}
        order by ordinal_position
    {%- endset -%}
    {%- set names = run_query(query).columns[0].values() | list -%}
    {{ return(names if names else none) }}
{% endmacro %}


{#- The relation when the table exists, else none (one catalog query; see cd2_raw_columns). -#}
{% macro cd2_existing_table(database, schema, identifier) %}
    {{- return(adapter.dispatch('cd2_existing_table', 'cd2')(database, schema, identifier)) -}}
{% endmacro %}

{% macro default__cd2_existing_table(database, schema, identifier) %}
    {%- set query -%}
        select count(*)
        from information_schema.tables
        where
            table_catalog = {{ cd2_sql_string(database) }}
            and table_schema = {{ cd2_sql_string(schema) }}
            and table_name = {{ cd2_sql_string(identifier) }}
    {%- endset -%}
    {%- if run_query(query).columns[0].values()[0] > 0 -%}
        {{ return(api.Relation.create(database=database, schema=schema, identifier=identifier)) }}
    {%- endif -%}
    {{ return(none) }}
{% endmacro %}


{#-
    A SQL string literal of `value` (a quote doubled). Names that reach SQL as values go
    through it: the database's name is the DuckDB file's stem, which may hold anything.
-#}
{% macro cd2_sql_string(value) %}
    {{ return("'" ~ (value | string | replace("'", "''")) ~ "'") }}
{% endmacro %}


{#- The current-state layer (cd2 mode) is DuckDB's: on another engine, say so and name the way out. -#}
{% macro cd2_duckdb_only(what) %}
    {{ exceptions.raise_compiler_error(
        what ~ ' builds the current-state layer from the raw change logs of cd2 sync, which lands in '
        ~ 'DuckDB only; on ' ~ target.type ~ ' the models read the tables of dap syncdb '
        ~ '(var cd2_source_mode: dap_syncdb, the postgres target\'s default)'
    ) }}
{% endmacro %}


{#-
    Spark has no information_schema: the catalog's own answer. A lake table's view also has the
    `batch_id` partition column (the folder name), the same as `_batch_id`: left out.
-#}
{% macro spark__cd2_raw_columns(relation) %}
    {%- set found = adapter.get_relation(database=none, schema=relation.schema, identifier=relation.identifier) -%}
    {%- if found is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(found) if column.name | lower != 'batch_id' -%}
        {%- do names.append(column.name | lower) -%}
    {%- endfor -%}
    {{ return(names if names else none) }}
{% endmacro %}

{% macro spark__cd2_existing_table(database, schema, identifier) %}
    {{ return(adapter.get_relation(database=none, schema=schema, identifier=identifier)) }}
{% endmacro %}


{#-
    The type of a typed null for a column whose landed type (`data_type` of the raw sources,
    DuckDB's names) is given: the same name where the engine has it.
-#}
{% macro cd2_cast_type(landed) %}
    {{- return(adapter.dispatch('cd2_cast_type', 'cd2')(landed)) -}}
{% endmacro %}

{% macro default__cd2_cast_type(landed) %}
    {{ return(landed) }}
{% endmacro %}

{% macro spark__cd2_cast_type(landed) %}
    {%- set name = landed | lower -%}
    {%- if name in ('varchar', 'json', 'uuid', 'time', 'text') -%}
        {{ return('string') }}
    {%- elif name == 'real' -%}
        {{ return('float') }}
    {%- endif -%}
    {{ return(landed) }}
{% endmacro %}
