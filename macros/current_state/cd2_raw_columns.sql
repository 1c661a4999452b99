{#-
    The column names of a landed raw table, or none when it does not exist (the table was
    never synced). The only introspection of the current-state macros, so unit tests can
    override it with a list of names.
-#}
{% macro cd2_raw_columns(relation) %}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set existing = adapter.get_relation(
        database=relation.database,
        schema=relation.schema,
        identifier=relation.identifier,
    ) -%}
    {%- if existing is none -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set names = [] -%}
    {%- for column in adapter.get_columns_in_relation(existing) -%}
        {%- do names.append(column.name | lower) -%}
    {%- endfor -%}
    {{ return(names) }}
{% endmacro %}
