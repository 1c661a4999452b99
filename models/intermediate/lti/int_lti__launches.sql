{#-
    LTI launches by the people of a course (issue 30, mart_lti_tool_use): one row per web_logs
    request that launched an external tool in a course, by one of its students or teachers.
    Students are the tracked students of int_activity__student_requests and teachers the
    teacher, TA or designer enrollments of int_activity__teacher_requests (any effective status,
    as int_adoption__teacher_page_views), unless the person is also a tracked student there (then
    the request is already a student's); both models' rows are read as they are. Masquerading
    requests are not the person's.

    A launch is a successful (2xx/304) GET, not an API call, on one of five routes (DECISIONLOG
    "LTI launches from web_logs"):
    * external_tools#show        /courses/:c/external_tools/:tool           the tool from the path
    * external_tools#resource_selection  …/external_tools/:tool/resource_selection  (content selection)
    * external_tools#retrieve    /courses/:c/external_tools/retrieve?url=…  tool unknown (the url is
                                                                             in the query string, which
                                                                             staging strips)
    * context_modules#item_redirect /courses/:c/modules/items/:tag          a module item whose
                                                                             content tag is a tool
    * assignments#show           /courses/:c/assignments/:a                 an external-tool assignment;
                                                                             its tool from lti_resource_links
                                                                             or its content tag
    The placement comes from the route and, for show and resource_selection, the tool's settings.
-#}
{#- A table, not a view: it reads every request of the two request models, and each of its
    tests and the two marts reading it would read them again. -#}
{{ config(materialized='table') }}

with

student_requests as (

    select * from {{ ref('int_activity__student_requests') }}

),

teacher_side_requests as (

    select * from {{ ref('int_activity__teacher_requests') }}

),

tracked_students as (

    select * from {{ ref('int_activity__tracked_students') }}

),

content_tags as (

    select * from {{ ref('stg_canvas__content_tags') }}

),

resource_links as (

    select * from {{ ref('stg_canvas__lti_resource_links') }}

),

assignments as (

    select * from {{ ref('stg_canvas__assignments') }}

),

external_tools as (

    select * from {{ ref('stg_canvas__context_external_tools') }}

),

-- requests of teacher-side people of a course who are not also tracked students of it (those
-- are already a student's)
teacher_requests as (

    select
        teacher_side_requests.web_log_id,
        teacher_side_requests.user_id,
        teacher_side_requests.course_id,
        'teacher' as launcher_role,
        teacher_side_requests.request_ts,
        teacher_side_requests.activity_date,
        teacher_side_requests.http_method,
        teacher_side_requests.http_status,
        teacher_side_requests.url_path,
        teacher_side_requests.web_application_controller,
        teacher_side_requests.web_application_action,
        teacher_side_requests.assignment_id,
        teacher_side_requests.is_api
    from teacher_side_requests
    left join tracked_students
        on
            teacher_side_requests.user_id = tracked_students.user_id
            and teacher_side_requests.course_id = tracked_students.course_id
    where tracked_students.user_id is null

),

requests as (

    select
        web_log_id,
        user_id,
        course_id,
        'student' as launcher_role,
        request_ts,
        activity_date,
        http_method,
        http_status,
        url_path,
        web_application_controller,
        web_application_action,
        assignment_id,
        is_api
    from student_requests

    union all

    select * from teacher_requests

),

routed as (

    select
        web_log_id,
        user_id,
        course_id,
        launcher_role,
        request_ts,
        activity_date,
        assignment_id,
        case
            when web_application_controller = 'context_modules' then 'module_item'
            when web_application_controller = 'assignments' then 'assignment'
            else web_application_action
        end as launch_route,
        case
            when
                web_application_action in ('show', 'resource_selection')
                and web_application_controller = 'external_tools'
                then cast(
                    nullif(
                        {{ cd2_regexp_group('url_path', "'/external_tools/([0-9]+)'") }}, ''
                    ) as bigint
                )
        end as path_tool_id,
        case
            when web_application_controller = 'context_modules'
                then cast(
                    nullif(
                        {{ cd2_regexp_group('url_path', "'/modules/items/([0-9]+)'") }}, ''
                    ) as bigint
                )
        end as module_item_id
    from requests
    where
        http_method = 'GET'
        and (http_status between 200 and 299 or http_status = 304)
        and not is_api
        and (
            (
                web_application_controller = 'external_tools'
                and web_application_action in ('show', 'resource_selection', 'retrieve')
            )
            or (
                web_application_controller = 'context_modules'
                and web_application_action = 'item_redirect'
            )
            or (web_application_controller = 'assignments' and web_application_action = 'show')
        )

),

-- module items that launch a tool (deleted tags too: the launch happened before)
tool_module_items as (

    select
        content_tag_id,
        content_id as external_tool_id
    from content_tags
    where
        content_type = 'ContextExternalTool'
        and tag_type = 'context_module'

),

-- the tool behind an assignment: LTI 1.3 resource links, LTI 1.1 content tags
assignment_tool_links as (

    select
        context_id as assignment_id,
        context_external_tool_id as external_tool_id
    from resource_links
    where context_type = 'Assignment' and not is_deleted

    union all

    select
        context_id as assignment_id,
        content_id as external_tool_id
    from content_tags
    where
        context_type = 'Assignment'
        and content_type = 'ContextExternalTool'
        and not is_deleted

),

tool_assignments as (

    select
        assignments.assignment_id,
        min(assignment_tool_links.external_tool_id) as external_tool_id
    from assignments
    left join assignment_tool_links
        on assignments.assignment_id = assignment_tool_links.assignment_id
    where {{ cd2_array_contains('assignments.submission_types', "'external_tool'") }}
    group by 1

),

-- which placements each tool declares (a settings key present means the placement is configured)
tool_placements as (

    select
        context_external_tool_id as external_tool_id,
        settings is null as has_no_settings,
        {{ cd2_json_text('settings', 'course_navigation') }} is not null as has_course_navigation,
        {{ cd2_json_text('settings', 'editor_button') }} is not null as has_editor_button,
        {{ cd2_json_text('settings', 'link_selection') }} is not null as has_link_selection,
        {{ cd2_json_text('settings', 'assignment_selection') }} is not null
            as has_assignment_selection,
        {{ cd2_json_text('settings', 'homework_submission') }} is not null
            as has_homework_submission
    from external_tools

),

resolved as (

    select
        routed.web_log_id,
        routed.user_id,
        routed.course_id,
        routed.launcher_role,
        routed.request_ts,
        routed.activity_date,
        routed.launch_route,
        case routed.launch_route
            when 'module_item' then tool_module_items.external_tool_id
            when 'assignment' then tool_assignments.external_tool_id
            else routed.path_tool_id
        end as external_tool_id
    from routed
    left join tool_module_items
        on routed.module_item_id = tool_module_items.content_tag_id
    left join tool_assignments
        on
            routed.launch_route = 'assignment'
            and routed.assignment_id = tool_assignments.assignment_id
    where
        (routed.launch_route <> 'module_item' or tool_module_items.content_tag_id is not null)
        and (routed.launch_route <> 'assignment' or tool_assignments.assignment_id is not null)

),

placed as (

    select
        resolved.*,
        case resolved.launch_route
            when 'show'
                then
                    case
                        when
                            tool_placements.external_tool_id is null
                            or tool_placements.has_no_settings
                            or tool_placements.has_course_navigation
                            then 'course_navigation'
                        else 'menu'
                    end
            when 'resource_selection'
                then
                    case
                        when tool_placements.external_tool_id is null
                            then 'content_selection'
                        when
                            cast(tool_placements.has_editor_button as integer)
                            + cast(tool_placements.has_link_selection as integer)
                            + cast(tool_placements.has_assignment_selection as integer)
                            + cast(tool_placements.has_homework_submission as integer) <> 1
                            then 'content_selection'
                        when tool_placements.has_editor_button then 'editor_button'
                        when tool_placements.has_link_selection then 'link_selection'
                        when tool_placements.has_assignment_selection then 'assignment_selection'
                        else 'homework_submission'
                    end
            when 'retrieve' then 'content_link'
            else resolved.launch_route
        end as placement
    from resolved
    left join tool_placements
        on resolved.external_tool_id = tool_placements.external_tool_id

),

final as (

    select
        web_log_id,
        user_id,
        course_id,
        launcher_role,
        external_tool_id,
        launch_route,
        placement,
        request_ts,
        activity_date
    from placed

)

select * from final
