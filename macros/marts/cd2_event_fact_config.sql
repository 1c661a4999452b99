{#- Config of an incremental event fact that retires rows (int_activity__web_sessions,
    int_activity__web_activity_daily): delete+insert on unique_key in cd2 mode, a table where
    models are rebuilt whole; rows that no longer exist are emitted once more with
    `_cd2_stale = true` and the post-hook deletes them in the same transaction. A round tests
    only the rows it marked (`cd2_round_rows`, macros/round/cd2_round_tests.sql).
    Used as `{{ config(**cd2_event_fact_config(key)) }}`. -#}
{% macro cd2_event_fact_config(unique_key) -%}
    {{ return({
        'materialized': 'incremental' if cd2_merges_batches() else 'table',
        'incremental_strategy': 'delete+insert',
        'unique_key': unique_key,
        'on_schema_change': 'sync_all_columns',
        'post_hook': "{% if is_incremental() %}delete from {{ this }} where _cd2_stale{% endif %}",
        'meta': {'cd2_round_rows': '_cd2_round_batch_id'},
    }) }}
{%- endmacro %}


{#- Hook SQL of the incremental request models (int_activity__student_requests,
    int_activity__teacher_requests, int_activity__sessionized_requests): on an incremental run,
    deletes the rows of user x course pairs no longer in the model `tracked_model` (enrollment
    deleted, became pending, a test user). -#}
{% macro cd2_delete_untracked_pairs(tracked_model) -%}
    {%- if is_incremental() %}
delete from {{ this }}
where not exists (
    select 1 from {{ ref(tracked_model) }} as tracked
    where tracked.user_id = {{ this }}.user_id and tracked.course_id = {{ this }}.course_id
)
    {%- endif -%}
{%- endmacro %}


{#- The rows of `rows` an incremental request model has not taken in yet: a batch newer than its
    `watermark` CTE's `max_batch_id`, or a student x course pair that `loaded_pairs` (the pairs it
    holds) lacks. -#}
{% macro cd2_not_taken_in(rows, loaded_pairs) -%}
    (
        {{ rows }}._batch_id > (select watermark.max_batch_id from watermark)
        or not exists (
            select 1 from {{ loaded_pairs }}
            where
                {{ loaded_pairs }}.user_id = {{ rows }}.user_id
                and {{ loaded_pairs }}.course_id = {{ rows }}.course_id
        )
    )
{%- endmacro %}



{#- The body of a `round_mark` CTE (one row, `round_batch_id`): the newest committed batch, which
    grows in every round that brings anything new. An incremental event fact marks every row it
    (re)computes with it; downstream models and the round's tests take rows marked after theirs.
    Null where there is no batch log: dap_syncdb mode, Spark, or a build before the first sync.
    Its caller declares `-- depends_on: {{ source('cd2_meta', 'batches') }}` in cd2 mode. -#}
{% macro cd2_round_batch_mark() -%}
    {%- set batches = source('cd2_meta', 'batches') if cd2_merges_batches() else none -%}
    {#- (in a unit test, source() names the test's fixture, which has no schema) -#}
    {%- set batches_exist = batches is not none and execute and (
        batches.schema is none
        or adapter.get_relation(
            database=batches.database, schema=batches.schema, identifier=batches.identifier
        ) is not none
    ) -%}
    {%- if batches_exist -%}
        select max(batches.batch_id) as round_batch_id
        from {{ batches }} as batches
        where batches.status = 'committed'
    {%- else -%}
        select cast(null as bigint) as round_batch_id
    {%- endif -%}
{%- endmacro %}


{#- Config of an incremental request model (int_activity__student_requests,
    int_activity__teacher_requests; body: cd2_tracked_requests): delete+insert on web_log_id in
    cd2 mode, a table where models are rebuilt whole (dap_syncdb mode: no `_batch_id` to go by;
    Spark: no delete); the pre-hook deletes the requests of pairs `tracked_model` no longer holds.
    Used as `{{ config(**cd2_request_model_config('int_activity__tracked_students')) }}`. -#}
{% macro cd2_request_model_config(tracked_model) -%}
    {{ return({
        'materialized': 'incremental' if cd2_merges_batches() else 'table',
        'incremental_strategy': 'delete+insert',
        'unique_key': 'web_log_id',
        'on_schema_change': 'sync_all_columns',
        'pre_hook': "{{ cd2_delete_untracked_pairs('" ~ tracked_model ~ "') }}",
    }) }}
{%- endmacro %}
