{#-
    Conformed course dimension: publication state (T17, P5) and the non-teaching flags adoption
    marts filter on (T21).
-#}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

courses as (

    select * from {{ ref('stg_canvas__courses') }}

),

terms as (

    select * from {{ ref('dim_term') }}

),

accounts as (

    select * from {{ ref('dim_account') }}

),

master_templates as (

    select * from {{ ref('stg_canvas__master_courses_master_templates') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

blueprints as (

    select distinct course_id
    from master_templates
    where not is_deleted

),

flagged as (

    select
        courses.*,
        terms.start_at as term_start_at,
        coalesce(terms.is_default_term, false) as is_default_term,
        coalesce(courses.template, false) as is_template,  -- noqa: RF04
        blueprints.course_id is not null as is_blueprint,
        coalesce(accounts.account_path ilike '{{ var("cd2_sandbox_pattern", "%sandbox%") }}', false)
        or coalesce(courses.course_code ilike 'sandbox%', false)
        or coalesce(courses.name ilike 'sandbox%', false) as is_sandbox
    from courses
    left join terms on courses.enrollment_term_id = terms.term_id
    left join accounts on courses.account_id = accounts.account_id
    left join blueprints on courses.course_id = blueprints.course_id

),

final as (

    select
        flagged.course_id,
        -- a sandbox is named after its owner ("Sandbox - First Last"): show its code instead
        case
            when flagged.is_sandbox then flagged.course_code
            else flagged.name
        end as course_name,
        flagged.course_code,
        flagged.sis_source_id,
        flagged.account_id,
        flagged.enrollment_term_id as term_id,
        flagged.workflow_state,
        flagged.is_deleted,
        case flagged.workflow_state
            when 'created' then 'unpublished_no_teacher'
            when 'claimed' then 'unpublished_with_teacher'
            when 'available' then 'published'
            when 'completed' then 'concluded'
            when 'deleted' then 'deleted'
        end as publish_state,
        coalesce(flagged.workflow_state in ('available', 'completed'), false) as is_published,
        flagged.is_sandbox,
        flagged.is_blueprint,
        flagged.is_template,
        flagged.is_default_term,
        flagged.is_sandbox
        or flagged.is_blueprint
        or flagged.is_template
        or flagged.is_default_term as is_non_teaching,
        flagged.start_at,
        flagged.conclude_at,
        coalesce(flagged.restrict_enrollments_to_course_dates, false)
            as restrict_enrollments_to_course_dates,
        {{ cd2_local_date('coalesce(flagged.start_at, flagged.term_start_at)') }}
            as week1_start_local_date,
        flagged.time_zone,
        -- an oversized syllabus (truncated by CD2, null in staging) is still a syllabus
        coalesce(
            nullif(trim(flagged.syllabus_body), '') is not null
            or flagged.is_syllabus_body_truncated,
            false
        ) as has_syllabus,
        as_of.as_of_ts as data_as_of
    from flagged
    cross join as_of

)

select * from final
