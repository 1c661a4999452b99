{#- Keyed pseudonym of a user id: lower-case hex HMAC-SHA256 of the id's decimal text, keyed with
    the site secret, HMAC(K, m) = H((K ^ opad) || H((K ^ ipad) || m)) with K zero-padded to
    SHA-256's 64-byte block (secrets longer than 64 bytes are refused). The secret never appears
    in SQL or logs:
    * DuckDB: the dbt-duckdb plugin `extract.dbt_plugin` puts env var CD2_PSEUDONYM_SECRET into the
      DuckDB variable `cd2_pseudonym_secret` on every connection (`getvariable`);
    * PostgreSQL: the session setting `cd2.pseudonym_secret`, which `cd2 run` passes in libpq's
      PGOPTIONS (`-c cd2.pseudonym_secret=…`) from the same env var.
    Both engines give the same key for the same secret (the engines' differential test). -#}

{#- Select-list items `ipad, opad` from the column `hmac_key` of `cd2_hmac_key()`. -#}
{% macro cd2_hmac_pads() %}
    {{- return(adapter.dispatch('cd2_hmac_pads', 'cd2')()) -}}
{% endmacro %}

{% macro duckdb__cd2_hmac_pads() -%}
    {%- for name, byte in [('ipad', 54), ('opad', 92)] %}
    unhex(array_to_string(list_transform(
        range(64),
        lambda i: lpad(to_hex(xor(('0x' || substr(hmac_key, 2 * i + 1, 2))::integer, {{ byte }})), 2, '0')
    ), '')) as {{ name }}{{ "," if loop.first }}
    {%- endfor %}
{%- endmacro %}

{% macro default__cd2_hmac_pads() -%}
    {%- for name, byte in [('ipad', 54), ('opad', 92)] %}
    (
        select decode(string_agg(lpad(to_hex(get_byte(hmac_key, i) # {{ byte }}), 2, '0'), '' order by i), 'hex')
        from generate_series(0, 63) as i
    ) as {{ name }}{{ "," if loop.first }}
    {%- endfor %}
{%- endmacro %}

{#- The secret as the column `hmac_key`'s expression: DuckDB hex text, PostgreSQL bytea, both 64 bytes. -#}
{% macro cd2_hmac_key() %}
    {{- return(adapter.dispatch('cd2_hmac_key', 'cd2')()) -}}
{% endmacro %}

{% macro duckdb__cd2_hmac_key() -%}
    case
        when getvariable('cd2_pseudonym_secret') is null
            then error('CD2_PSEUDONYM_SECRET is not set: marts pseudonymise user ids with it (see README, Privacy)')
        when octet_length(encode(getvariable('cd2_pseudonym_secret'))) > 64
            then error('CD2_PSEUDONYM_SECRET is longer than 64 bytes')
        else rpad(hex(encode(getvariable('cd2_pseudonym_secret'))), 128, '0')
    end
{%- endmacro %}

{% macro default__cd2_hmac_key() -%}
    {#- PostgreSQL has no error() function: the secret is checked when the model runs (no value read back) -#}
    {%- if execute -%}
        {%- set checked = run_query(
            "select case when coalesce(current_setting('cd2.pseudonym_secret', true), '') = '' then 'unset'"
            ~ " when octet_length(convert_to(current_setting('cd2.pseudonym_secret'), 'UTF8')) > 64"
            ~ " then 'too long' else 'ok' end"
        ).columns[0].values()[0] -%}
        {%- if checked == 'unset' -%}
            {{ exceptions.raise_compiler_error(
                'CD2_PSEUDONYM_SECRET is not set: marts pseudonymise user ids with it (see README, Privacy).'
                ~ ' On PostgreSQL `cd2 run --target postgres` passes it; plain dbt needs'
                ~ ' PGOPTIONS="-c cd2.pseudonym_secret=<secret>"'
            ) }}
        {%- elif checked == 'too long' -%}
            {{ exceptions.raise_compiler_error('CD2_PSEUDONYM_SECRET is longer than 64 bytes') }}
        {%- endif -%}
    {%- endif -%}
    (
        convert_to(current_setting('cd2.pseudonym_secret'), 'UTF8')
        || decode(repeat('00', 64 - octet_length(convert_to(current_setting('cd2.pseudonym_secret'), 'UTF8'))), 'hex')
    )
{%- endmacro %}

{#- user_key from a user id expression, given the pads CTE columns ipad/opad in scope. -#}
{% macro cd2_user_key(expr) %}
    {{- return(adapter.dispatch('cd2_user_key', 'cd2')(expr)) -}}
{% endmacro %}

{% macro duckdb__cd2_user_key(expr) -%}
    sha256(opad || unhex(sha256(ipad || encode(cast({{ expr }} as varchar)))))
{%- endmacro %}

{% macro default__cd2_user_key(expr) -%}
    encode(sha256(opad || sha256(ipad || convert_to(cast({{ expr }} as varchar), 'UTF8'))), 'hex')
{%- endmacro %}

{#- A student-derived metric of an aggregate row, hidden when fewer than cd2_min_cell_size students stand behind it. -#}
{% macro cd2_suppress(n_students, metric) -%}
    case when {{ n_students }} >= {{ var('cd2_min_cell_size') }} then {{ metric }} end
{%- endmacro %}

{% macro cd2_is_suppressed(n_students) -%}
    coalesce({{ n_students }}, 0) < {{ var('cd2_min_cell_size') }}
{%- endmacro %}
