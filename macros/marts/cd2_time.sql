{#- Local time in the institution zone (var cd2_time_zone). CD2 timestamps are naive UTC: read them
    as UTC, then express them in the zone (ICU handles DST), giving a naive local timestamp. -#}
{% macro cd2_local_ts(expr) -%}
    {{- adapter.dispatch('cd2_local_ts', 'cd2')(expr) -}}
{%- endmacro %}

{% macro default__cd2_local_ts(expr) -%}
    timezone('{{ var("cd2_time_zone") }}', timezone('UTC', {{ expr }}))
{%- endmacro %}

{% macro cd2_local_date(expr) -%}
    cast({{ cd2_local_ts(expr) }} as date)
{%- endmacro %}

{#- Week of the term a local date falls in: week 1 starts on the course's first local day. -#}
{% macro cd2_week_in_term(local_date, week1_start_local_date) -%}
    cast(floor({{ dbt.datediff(week1_start_local_date, local_date, 'day') }} / 7.0) as integer) + 1
{%- endmacro %}
