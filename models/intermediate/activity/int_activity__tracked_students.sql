{#-
    Whose course requests count as student activity: one row per student x course, every
    effective status but `pending` (invited, never accepted). Test students are already left out
    of int_enrollment__student_courses (T3).
-#}
with

student_courses as (

    select * from {{ ref('int_enrollment__student_courses') }}

),

test_users as (

    select * from {{ ref('int_core__test_users') }}

),

final as (

    select
        student_courses.user_id,
        student_courses.course_id,
        student_courses.effective_status
    from student_courses
    left join test_users
        on student_courses.user_id = test_users.user_id
    where
        student_courses.effective_status <> 'pending'
        and test_users.user_id is null

)

select * from final
