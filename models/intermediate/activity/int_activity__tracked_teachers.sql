{#-
    Whose course requests count as teacher-side web activity (course adoption, LTI tool use):
    one row per user x course with a teacher, TA or designer enrollment in the course, any
    effective status. Deleted, rejected and test-user enrollments are not in
    int_enrollment__effective_enrollments.
-#}
with

enrollments as (

    select * from {{ ref('int_enrollment__effective_enrollments') }}

),

final as (

    select distinct
        user_id,
        course_id
    from enrollments
    where is_teacher_side

)

select * from final
