{#- Keyed pseudonym of a user id: lower-case hex HMAC-SHA256 of the id's decimal text, keyed with
    the site secret. The secret never appears in SQL or logs: the dbt-duckdb plugin
    `extract.dbt_plugin` puts env var CD2_PSEUDONYM_SECRET into the DuckDB variable
    `cd2_pseudonym_secret` on every connection. HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)),
    K zero-padded to SHA-256's 64-byte block (secrets longer than 64 bytes are refused). -#}
{% macro cd2_hmac_pads() -%}
    {%- for name, byte in [('ipad', 54), ('opad', 92)] %}
    unhex(array_to_string(list_transform(
        range(64),
        lambda i: lpad(to_hex(xor(('0x' || substr(key_hex, 2 * i + 1, 2))::integer, {{ byte }})), 2, '0')
    ), '')) as {{ name }}{{ "," if loop.first }}
    {%- endfor %}
{%- endmacro %}

{% macro cd2_secret_hex() -%}
    case
        when getvariable('cd2_pseudonym_secret') is null
            then error('CD2_PSEUDONYM_SECRET is not set: marts pseudonymise user ids with it (see README, Privacy)')
        when octet_length(encode(getvariable('cd2_pseudonym_secret'))) > 64
            then error('CD2_PSEUDONYM_SECRET is longer than 64 bytes')
        else rpad(hex(encode(getvariable('cd2_pseudonym_secret'))), 128, '0')
    end
{%- endmacro %}

{#- user_key from a user id expression, given the pads CTE columns ipad/opad in scope. -#}
{% macro cd2_user_key(expr) -%}
    sha256(opad || unhex(sha256(ipad || encode(cast({{ expr }} as varchar)))))
{%- endmacro %}

{#- A student-derived metric of an aggregate row, hidden when fewer than cd2_min_cell_size students stand behind it. -#}
{% macro cd2_suppress(n_students, metric) -%}
    case when {{ n_students }} >= {{ var('cd2_min_cell_size') }} then {{ metric }} end
{%- endmacro %}

{% macro cd2_is_suppressed(n_students) -%}
    coalesce({{ n_students }}, 0) < {{ var('cd2_min_cell_size') }}
{%- endmacro %}
