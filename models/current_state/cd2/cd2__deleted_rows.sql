{{
    config(
        alias='deleted_rows',
        incremental_strategy='append',
    )
}}

{{ cd2_deleted_rows() }}
