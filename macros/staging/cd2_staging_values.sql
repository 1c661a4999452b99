{#- `__dap_unspecified__`, CD2's enum member for "a value outside the documented list", becomes null. -#}
{% macro cd2_enum_value(column) %}
    {{- return('nullif(' ~ adapter.quote(column) ~ ", '" ~ cd2_enum_unknown() ~ "')") -}}
{% endmacro %}


{#- The column's value, or null when CD2 replaced an oversized value with a truncation placeholder. -#}
{% macro cd2_untruncated(column) %}
    {{- return(
        'case when ' ~ adapter.quote(column) ~ ' in (' ~ cd2_truncation_marker_list() ~ ') then null else '
        ~ adapter.quote(column) ~ ' end'
    ) -}}
{% endmacro %}


{#- Whether CD2 replaced an oversized value of the column with a truncation placeholder (false for null). -#}
{% macro cd2_is_truncated(column) %}
    {{- return('coalesce(' ~ adapter.quote(column) ~ ' in (' ~ cd2_truncation_marker_list() ~ '), false)') -}}
{% endmacro %}


{% macro cd2_truncation_marker_list() %}
    {%- set quoted = [] -%}
    {%- for marker in cd2_truncation_markers() -%}
        {%- do quoted.append("'" ~ marker ~ "'") -%}
    {%- endfor -%}
    {{- return(quoted | join(', ')) -}}
{% endmacro %}
