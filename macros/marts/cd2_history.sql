{#- Config of a history table the project builds itself (CD2 keeps no history): each run
    replaces the rows of its own period (delete+insert on unique_key) and keeps every earlier
    one; full_refresh = false, so `dbt build --full-refresh` neither rebuilds nor wipes it
    (dropping the table by hand is the only reset). Used as `{{ config(**cd2_history_config(key)) }}`. -#}
{% macro cd2_history_config(unique_key) -%}
    {{ return(adapter.dispatch('cd2_history_config', 'cd2')(unique_key)) }}
{%- endmacro %}

{% macro default__cd2_history_config(unique_key) -%}
    {{ return({
        'materialized': 'incremental',
        'incremental_strategy': 'delete+insert',
        'unique_key': unique_key,
        'full_refresh': false,
        'on_schema_change': 'append_new_columns',
    }) }}
{%- endmacro %}
