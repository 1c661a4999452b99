{#- web_logs request classification shared by the activity and adoption marts
    (DECISIONLOG: "a page view"). Arguments are column expressions of a staging web_logs row. -#}

{#- The URL's path (scheme and host dropped) starts with /api/. -#}
{% macro cd2_is_api_request(url_path='url_path') -%}
    coalesce({{ cd2_regexp_matches(url_path, "'^([A-Za-z][A-Za-z0-9+.-]*://[^/]*)?/api/'") }}, false)
{%- endmacro %}

{#- A documented approximation of a page view: a successful (2xx/304) GET answered by a known
    controller, not an API call unless var cd2_page_views_include_api. -#}
{% macro cd2_is_page_view(
    http_method='http_method', http_status='http_status',
    controller='web_application_controller', is_api='is_api'
) -%}
    coalesce(
        {{ http_method }} = 'GET'
        and ({{ http_status }} between 200 and 299 or {{ http_status }} = 304)
        and {{ controller }} is not null
        {%- if not var('cd2_page_views_include_api', false) %}
            and not {{ is_api }}
        {%- endif %},
        false
    )
{%- endmacro %}
