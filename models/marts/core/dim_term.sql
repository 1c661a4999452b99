{#- Conformed enrollment-term dimension; "current" is evaluated at data_as_of. -#}
with

terms as (

    select * from {{ ref('stg_canvas__enrollment_terms') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

final as (

    select
        terms.enrollment_term_id as term_id,
        terms.name as term_name,
        terms.term_code,
        terms.sis_source_id,
        terms.workflow_state,
        terms.is_deleted,
        terms.start_at,
        terms.end_at,
        {{ cd2_local_date('terms.start_at') }} as start_local_date,
        {{ cd2_local_date('terms.end_at') }} as end_local_date,
        coalesce(
            terms.name = '{{ var("cd2_default_term_name", "Default Term") }}', false
        ) as is_default_term,
        coalesce(
            not terms.is_deleted
            and as_of.as_of_ts >= terms.start_at
            and as_of.as_of_ts <= terms.end_at,
            false
        ) as is_current,
        as_of.as_of_ts as data_as_of
    from terms
    cross join as_of

)

select * from final
