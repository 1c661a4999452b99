with

enrollments as (

    select * from {{ ref('stg_canvas__enrollments') }}

),

sections as (

    select * from {{ ref('stg_canvas__course_sections') }}

),

courses as (

    select * from {{ ref('stg_canvas__courses') }}

),

terms as (

    select * from {{ ref('stg_canvas__enrollment_terms') }}

),

roles as (

    select * from {{ ref('stg_canvas__roles') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

test_users as (

    select * from {{ ref('int_core__test_users') }}

),

kept as (

    select enrollments.*
    from enrollments
    where
        enrollments.workflow_state not in ('deleted', 'rejected')
        and enrollments.type <> 'StudentViewEnrollment'
        and enrollments.user_id not in (select test_users.user_id from test_users)

),

dated as (

    -- Date hierarchy (T6): section dates when the section restricts to them, else course
    -- dates when the course does, else the term's.
    select
        kept.*,
        courses.enrollment_term_id as term_id,
        coalesce(roles.base_role_type, kept.type) as base_role_type,
        case
            when sections.restrict_enrollments_to_section_dates and sections.start_at is not null
                then sections.start_at
            when courses.restrict_enrollments_to_course_dates and courses.start_at is not null
                then courses.start_at
            else terms.start_at
        end as effective_start_at,
        case
            when sections.restrict_enrollments_to_section_dates and sections.end_at is not null
                then 'section'
            when courses.restrict_enrollments_to_course_dates and courses.conclude_at is not null
                then 'course'
            when terms.end_at is not null
                then 'term'
        end as effective_end_source,
        sections.end_at as section_end_at,
        courses.conclude_at as course_conclude_at,
        terms.end_at as term_end_at
    from kept
    left join sections on kept.course_section_id = sections.course_section_id
    left join courses on kept.course_id = courses.course_id
    left join terms on courses.enrollment_term_id = terms.enrollment_term_id
    left join roles on kept.role_id = roles.role_id

),

ended as (

    select
        *,
        case effective_end_source
            when 'section' then section_end_at
            when 'course' then course_conclude_at
            when 'term' then term_end_at
        end as effective_end_at
    from dated

),

statused as (

    select
        ended.enrollment_id,
        ended.user_id,
        ended.course_id,
        ended.course_section_id,
        ended.term_id,
        ended.type as enrollment_type,
        ended.role_id,
        ended.base_role_type,
        ended.base_role_type = 'StudentEnrollment' as is_student,
        ended.base_role_type in (
            'TeacherEnrollment', 'TaEnrollment', 'DesignerEnrollment'
        ) as is_teacher_side,
        ended.base_role_type = 'ObserverEnrollment' as is_observer,
        ended.workflow_state,
        ended.effective_start_at,
        ended.effective_end_at,
        ended.effective_end_source,
        case
            when ended.workflow_state in ('invited', 'creation_pending') then 'pending'
            when ended.workflow_state = 'inactive' then 'inactive'
            when ended.workflow_state = 'completed' then 'completed'
            when as_of.as_of_ts >= ended.effective_end_at then 'soft_concluded'
            when as_of.as_of_ts < ended.effective_start_at then 'not_started'
            else 'active'
        end as effective_status,
        ended.created_at,
        ended.start_at,
        ended.end_at,
        ended.completed_at,
        ended.last_activity_at,
        ended.last_attended_at,
        ended.total_activity_time,
        as_of.as_of_ts as data_as_of
    from ended
    cross join as_of

),

final as (

    select
        enrollment_id,
        user_id,
        course_id,
        course_section_id,
        term_id,
        enrollment_type,
        role_id,
        base_role_type,
        is_student,
        is_teacher_side,
        is_observer,
        workflow_state,
        effective_start_at,
        effective_end_at,
        effective_end_source,
        effective_status,
        effective_status = 'active' as is_active,
        created_at,
        start_at,
        end_at,
        completed_at,
        last_activity_at,
        last_attended_at,
        total_activity_time,
        data_as_of
    from statused

)

select * from final
