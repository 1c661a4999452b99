{#- `__dap_unspecified__`, CD2's enum member for "a value outside the documented list", becomes null. -#}
{% macro cd2_enum_value(column) %}
    {{- return('nullif(' ~ cd2_enum_text(column) ~ ", '" ~ cd2_enum_unknown() ~ "')") -}}
{% endmacro %}


{#-
    An enum column as text. dap stores enums as PostgreSQL ENUM types (`canvas.<table>__<column>`):
    in dap_syncdb mode the value is cast to text, so models compare, combine and union it like
    any string (an ENUM rejects a literal outside its members).
-#}
{% macro cd2_enum_text(column) %}
    {%- if cd2_reads_dap_tables() -%}
        {{- return('cast(' ~ adapter.quote(column) ~ ' as ' ~ dbt.type_string() ~ ')') -}}
    {%- endif -%}
    {{- return(adapter.quote(column)) -}}
{% endmacro %}


{#-
    The column's value, or null when CD2 replaced an oversized value with a truncation placeholder.
    `json=true`: a nested column landed as JSON, where the placeholder is a JSON string.
-#}
{% macro cd2_untruncated(column, json=false) %}
    {{- return(
        'case when ' ~ cd2_holds_truncation_marker(column, json) ~ ' then null else '
        ~ adapter.quote(column) ~ ' end'
    ) -}}
{% endmacro %}


{#- Whether CD2 replaced an oversized value of the column with a truncation placeholder (false for null). -#}
{% macro cd2_is_truncated(column, json=false) %}
    {{- return('coalesce(' ~ cd2_holds_truncation_marker(column, json) ~ ', false)') -}}
{% endmacro %}


{% macro cd2_holds_truncation_marker(column, json=false) %}
    {%- if json -%}
        {{- return(
            'cast(' ~ adapter.quote(column) ~ ' as ' ~ dbt.type_string() ~ ') in (' ~ cd2_truncation_marker_list(true) ~ ')'
        ) -}}
    {%- else -%}
        {{- return(adapter.quote(column) ~ ' in (' ~ cd2_truncation_marker_list() ~ ')') -}}
    {%- endif -%}
{% endmacro %}


{% macro cd2_truncation_marker_list(json=false) %}
    {%- set quoted = [] -%}
    {%- for marker in cd2_truncation_markers() -%}
        {%- do quoted.append("'" ~ ('"' ~ marker ~ '"' if json else marker) ~ "'") -%}
    {%- endfor -%}
    {{- return(quoted | join(', ')) -}}
{% endmacro %}
