with

enrollments as (

    select * from {{ ref('int_enrollment__effective_enrollments') }}

),

user_keys as (

    select * from {{ ref('int_core__user_keys') }}

),

final as (

    select
        enrollments.enrollment_id,
        user_keys.user_key,
        enrollments.course_id,
        enrollments.course_section_id,
        enrollments.term_id,
        enrollments.enrollment_type,
        enrollments.role_id,
        enrollments.base_role_type,
        enrollments.is_student,
        enrollments.is_teacher_side,
        enrollments.is_observer,
        enrollments.workflow_state,
        enrollments.effective_start_at,
        enrollments.effective_end_at,
        enrollments.effective_end_source,
        enrollments.effective_status,
        enrollments.is_active,
        enrollments.created_at,
        enrollments.start_at,
        enrollments.end_at,
        enrollments.completed_at,
        enrollments.last_activity_at,
        enrollments.last_attended_at,
        enrollments.total_activity_time,
        enrollments.data_as_of
    from enrollments
    left join user_keys on enrollments.user_id = user_keys.user_id

)

select * from final
