{#-
    M2 history: one row per student enrollment and local day, appended from fct_course_grade_current
    at each run. A run replaces the rows of its own as_of_local_date (delete+insert on
    snapshot_date) and keeps every earlier day, so grade trajectories survive CD2's current-state
    data. full_refresh = false: `dbt build --full-refresh` does not rebuild (and so does not wipe)
    the history; dropping the table by hand is the only way to reset it.
-#}
{{ config(meta={'cd2_now': 'local_date'}, **cd2_history_config('snapshot_date')) }}

with

course_grade_current as (

    select * from {{ ref('fct_course_grade_current') }}

),

as_of as (

    select * from {{ ref('int_core__as_of') }}

),

final as (

    select
        as_of.as_of_local_date as snapshot_date,
        course_grade_current.enrollment_id,
        course_grade_current.user_key,
        course_grade_current.course_id,
        course_grade_current.current_score,
        course_grade_current.final_score,
        course_grade_current.effective_score,
        course_grade_current.data_as_of
    from course_grade_current
    cross join as_of

)

select * from final
