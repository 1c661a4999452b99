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
    int_activity__sessionized_requests): on an incremental run, deletes the rows of student x
    course pairs no longer tracked (enrollment deleted, became pending, a test user). -#}
{% macro cd2_delete_untracked_pairs() -%}
    {%- if is_incremental() %}
delete from {{ this }}
where not exists (
    select 1 from {{ ref('int_activity__tracked_students') }} as tracked
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

