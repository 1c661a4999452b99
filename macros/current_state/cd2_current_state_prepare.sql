{#-
    Pre-hook of every current-state model (runs in the model's transaction, before the new
    rows are merged in with delete+insert). On incremental runs it

    1. empties the table when a committed snapshot batch newer than anything the table holds
       has landed (the snapshot is the complete table; keys absent from it are gone), unless
       the table keeps history (web_logs);
    2. removes keys that have a hard delete (`_meta_action = 'D'`) in a batch newer than what
       the table holds. Keys whose latest change is an upsert are inserted again by the model.

    Re-running it for batches already applied deletes nothing that should stay.

    On full refreshes (and the first build) it forgets what `cd2_meta.model_state` recorded for
    the model, so nothing of the rebuilt table counts as tested and the incremental key tests
    (`unique_incremental`, `not_null_incremental`) check all of it.
-#}
{% macro cd2_current_state_prepare(namespace, table) %}
    {%- set changes = source('raw_' ~ namespace, table) -%}
    {%- set batches = source('cd2_meta', 'batches') -%}
    {%- if execute and is_incremental() and cd2_raw_columns(changes) is not none -%}
        {%- set spec = cd2_table_spec(namespace, table) -%}
        {%- set key = adapter.quote(spec.key) -%}
        {%- if not spec.history %}
delete from {{ this }}
where exists (
    select 1 from {{ batches }}
    where
        namespace = {{ cd2_sql_string(spec.namespace) }}
        and table_name = {{ cd2_sql_string(spec.table) }}
        and kind = 'snapshot'
        and status = 'committed'
        and batch_id > (select coalesce(max(_batch_id), 0) from {{ this }})
);
        {%- endif %}
delete from {{ this }}
where {{ key }} in (
    select {{ key }} from {{ changes }}
    where
        _meta_action = 'D'
        and _batch_id > (select coalesce(max(_batch_id), 0) from {{ this }})
)
    {%- elif execute -%}
        {#- a relation, quoted: the database is named after the file (`cd2-prod`, `full`, ...) -#}
        {%- set state = cd2_existing_table(this.database, 'cd2_meta', 'model_state') -%}
        {%- if state is not none %}
delete from {{ state }}
where namespace = {{ cd2_sql_string(this.schema) }} and table_name = {{ cd2_sql_string(this.identifier) }}
        {%- endif -%}
    {%- endif -%}
{% endmacro %}
