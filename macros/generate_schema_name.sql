{#-
    Custom schemas are used as-is (`canvas`, `staging`, `marts` …) instead of dbt's default
    `<target schema>_<custom schema>`, so tables keep the names users know from CD2.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
