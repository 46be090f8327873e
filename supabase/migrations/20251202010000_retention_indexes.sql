-- Indexes the retention job (io.github.pgflowchat.retention.DataRetention) needs so its batched deletes find old rows
-- without scanning whole tables. pgflow.workers already has idx_workers_heartbeat and the queue archive its
-- archived_at index (pgmq, or the project's pgmq-compatible schema).

-- Finished runs by the time they finished: the job deletes those older than RUN_RETENTION.
create index if not exists idx_runs_finished_at on pgflow.runs ((coalesce(completed_at, failed_at)))
    where status in ('completed', 'failed');

-- Deleting a worker row sets step_tasks.last_worker_id to null where it points at it (ON DELETE SET NULL): without
-- an index on the column (pgflow's covers only started tasks) each deleted row would scan every task.
create index if not exists idx_step_tasks_last_worker_id on pgflow.step_tasks (last_worker_id);

-- The realtime.send stand-in's broadcasts by age (EVENTS_RETENTION). Only the stand-in's own table: on Supabase,
-- realtime.messages belongs to Realtime, which prunes it itself, and is left alone.
do $$
begin
    if coalesce(obj_description(to_regclass('realtime.messages'), 'pg_class') like '%pgflow chat gateway stand-in%', false) then
        create index if not exists messages_inserted_at_idx on realtime.messages (inserted_at);
    end if;
end
$$;
