{#- Reductions staging applies to personal columns (policy: extract/dbtgen/pii.py, DECISIONLOG.md). -#}

{#- IPv4 keeps its /24 network (last octet 0); IPv6 keeps its /48: the first three groups written
    before any `::` (fewer when `::` comes sooner: those groups are zero), then `::`. -#}
{% macro cd2_ip_prefix(name) -%}
    {%- set text = 'cast(' ~ adapter.quote(name) ~ ' as ' ~ dbt.type_string() ~ ')' -%}
    {%- if cd2_reads_dap_tables() -%}
        {#- dap may keep addresses as PostgreSQL `inet`, whose text carries a netmask (`/32`) -#}
        {%- set text = "split_part(" ~ text ~ ", '/', 1)" -%}
    {%- endif -%}
    case
        when {{ text }} is null then null
        when {{ dbt.position("':'", text) }} > 0
            then {{ cd2_first_parts("split_part(" ~ text ~ ", '::', 1)", "':'", 3) }} || '::'
        else regexp_replace({{ text }}, '\.[0-9]+$', '.0')
    end
{%- endmacro %}

{% macro cd2_url_path(name) -%}
    {%- set column = adapter.quote(name) -%}
    regexp_replace({{ column }}, '[?#].*$', '')
{%- endmacro %}

{% macro cd2_session_key(name) -%}
    {%- set column = adapter.quote(name) -%}
    md5(cast({{ column }} as {{ dbt.type_string() }}))
{%- endmacro %}

{#- First match wins; Canvas's mobile apps name themselves in the agent string. -#}
{% macro cd2_user_agent_class(name) -%}
    {%- set column = adapter.quote(name) -%}
    case
        when {{ column }} is null or {{ column }} in ({{ cd2_truncation_marker_list() }}) then null
        when {{ cd2_regexp_matches(column, "'(?i)canvas(studentapp|teacher|parent)|candroid|icanvas'") }} then 'mobile_app'
        when {{ cd2_regexp_matches(column, "'(?i)bot|crawler|spider|curl|python-requests'") }} then 'bot'
        when {{ cd2_regexp_matches(column, "'(?i)ipad|tablet'") }} then 'tablet'
        when {{ cd2_regexp_matches(column, "'(?i)mobile|iphone|android'") }} then 'mobile'
        when {{ cd2_regexp_matches(column, "'(?i)windows|macintosh|x11|cros|linux'") }} then 'desktop'
        else 'other'
    end
{%- endmacro %}
