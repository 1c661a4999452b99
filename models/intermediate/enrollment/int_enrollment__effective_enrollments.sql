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
        -- the date of effective_end_source (written out: PostgreSQL has no lateral aliases)
        case
            when sections.restrict_enrollments_to_section_dates and sections.end_at is not null
                then sections.end_at
            when courses.restrict_enrollments_to_course_dates and courses.conclude_at is not null
                then courses.conclude_at
            else terms.end_at
        end as effective_end_at
    from kept
    left join sections on kept.course_section_id = sections.course_section_id
    left join courses on kept.course_id = courses.course_id
    left join terms on courses.enrollment_term_id = terms.enrollment_term_id
    left join roles on kept.role_id = roles.role_id

),

statused as (

    select
        dated.enrollment_id,
        dated.user_id,
        dated.course_id,
        dated.course_section_id,
        dated.term_id,
        dated.type as enrollment_type,
        dated.role_id,
        dated.base_role_type,
        dated.base_role_type = 'StudentEnrollment' as is_student,
        dated.base_role_type in (
            'TeacherEnrollment', 'TaEnrollment', 'DesignerEnrollment'
        ) as is_teacher_side,
        dated.base_role_type = 'ObserverEnrollment' as is_observer,
        dated.workflow_state,
        dated.effective_start_at,
        dated.effective_end_at,
        dated.effective_end_source,
        case
            when dated.workflow_state in ('invited', 'creation_pending') then 'pending'
            when dated.workflow_state = 'inactive' then 'inactive'
            when dated.workflow_state = 'completed' then 'completed'
            when as_of.as_of_ts >= dated.effective_end_at then 'soft_concluded'
            when as_of.as_of_ts < dated.effective_start_at then 'not_started'
            else 'active'
        end as effective_status,
        dated.created_at,
        dated.start_at,
        dated.end_at,
        dated.completed_at,
        dated.last_activity_at,
        dated.last_attended_at,
        dated.total_activity_time,
        as_of.as_of_ts as data_as_of
    from dated
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
