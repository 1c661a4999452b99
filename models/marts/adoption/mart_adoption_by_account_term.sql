{#-
    M11 roll-up: course adoption per account (every level of the account tree) and term. A course
    counts in its own account and in every ancestor (dim_account.account_id_path), so a college row
    holds all its departments' courses. Non-teaching courses (T21) are left out while var
    cd2_exclude_non_teaching_courses is true.
-#}
{%- set min_cell_size = var('cd2_min_cell_size', 10) %}
{%- set exclude_non_teaching = var('cd2_exclude_non_teaching_courses', true) %}
{{ config(meta={'cd2_now': 'stamp'}) }}

with

course_adoption as (

    select * from {{ ref('mart_course_adoption') }}

),

accounts as (

    select * from {{ ref('dim_account') }}

),

student_courses as (

    select * from {{ ref('mart_student_course') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

courses_in_scope as (

    select *
    from course_adoption
    where not (is_non_teaching and {{ 'true' if exclude_non_teaching else 'false' }})

),

-- each course once per account on its path, the course's own account included (a course whose
-- account is unknown still counts in that account)
course_accounts as (

    select
        courses_in_scope.course_id,
        courses_in_scope.term_id,
        {{ cd2_unnest(
            'coalesce(accounts.account_id_path, ' ~ cd2_array_of(['courses_in_scope.account_id']) ~ ')'
        ) }} as rollup_account_id
    from courses_in_scope
    left join accounts on courses_in_scope.account_id = accounts.account_id

),

course_metrics as (

    select
        course_accounts.rollup_account_id,
        course_accounts.term_id,
        count(*) as n_courses,
        count(*) filter (where courses_in_scope.is_published) as n_published,
        count(*) filter (where courses_in_scope.has_students) as n_courses_with_students,
        count(*) filter (
            where courses_in_scope.has_students and courses_in_scope.uses_gradebook
        ) as n_courses_using_gradebook,
        count(*) filter (
            where courses_in_scope.has_students and courses_in_scope.uses_modules
        ) as n_courses_using_modules,
        count(*) filter (
            where courses_in_scope.has_students and courses_in_scope.has_syllabus
        ) as n_courses_with_syllabus,
        count(courses_in_scope.pct_students_active_7d) as n_courses_with_activity_rate,
        {{ cd2_percentile_cont('courses_in_scope.pct_students_active_7d', 0.5) }}
            as median_pct_students_active_7d,
        cast(sum(courses_in_scope.teacher_page_views_30d) as bigint) as teacher_page_views_30d
    from course_accounts
    inner join courses_in_scope on course_accounts.course_id = courses_in_scope.course_id
    group by 1, 2

),

-- distinct people over the courses of the row (a student in two courses counts once)
student_metrics as (

    select
        course_accounts.rollup_account_id,
        course_accounts.term_id,
        count(distinct student_courses.user_key) filter (
            where {{ cd2_status_in('student_courses.effective_status', 'enrolled') }}
        ) as n_students,
        count(distinct student_courses.user_key) filter (
            where student_courses.is_active
        ) as n_students_active
    from course_accounts
    inner join student_courses on course_accounts.course_id = student_courses.course_id
    group by 1, 2

),

combined as (

    select
        course_metrics.*,
        coalesce(student_metrics.n_students, 0) as n_students,
        coalesce(student_metrics.n_students_active, 0) as n_students_active,
        coalesce(student_metrics.n_students, 0) < {{ min_cell_size }} as is_suppressed
    from course_metrics
    left join student_metrics
        on
            course_metrics.rollup_account_id = student_metrics.rollup_account_id
            and course_metrics.term_id = student_metrics.term_id

),

final as (

    select
        combined.rollup_account_id as account_id,
        combined.term_id,
        accounts.depth as account_depth,
        accounts.account_path,
        combined.n_courses,
        combined.n_published,
        {{ cd2_ratio('combined.n_published', 'combined.n_courses') }} as pct_published,
        combined.n_courses_with_students,
        combined.n_courses_using_gradebook,
        {{ cd2_ratio('combined.n_courses_using_gradebook', 'combined.n_courses_with_students') }}
            as pct_using_gradebook,
        combined.n_courses_using_modules,
        {{ cd2_ratio('combined.n_courses_using_modules', 'combined.n_courses_with_students') }}
            as pct_using_modules,
        combined.n_courses_with_syllabus,
        {{ cd2_ratio('combined.n_courses_with_syllabus', 'combined.n_courses_with_students') }}
            as pct_with_syllabus,
        case when not combined.is_suppressed then combined.n_students end as n_students,
        case
            when not combined.is_suppressed then combined.n_students_active
        end as n_students_active,
        combined.n_courses_with_activity_rate,
        case
            when not combined.is_suppressed then combined.median_pct_students_active_7d
        end as median_pct_students_active_7d,
        combined.teacher_page_views_30d,
        combined.is_suppressed,
        as_of.as_of_ts as data_as_of
    from combined
    left join accounts on combined.rollup_account_id = accounts.account_id
    cross join as_of

)

select * from final
