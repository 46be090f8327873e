-- A run as its owner may see it: the run, then each step in flow order with its latest attempt's output or error.
-- Steps of chat_pipeline are single steps (one task, task_index 0).
select jsonb_build_object(
           'runId', r.run_id,
           'flowSlug', r.flow_slug,
           'chatId', r.input ->> 'chatId',
           'question', r.input ->> 'question',
           'status', r.status,
           'startedAt', r.started_at,
           'completedAt', r.completed_at,
           'failedAt', r.failed_at,
           'remainingSteps', r.remaining_steps,
           'output', r.output,
           -- Broadcasts pgflow sent for this run (realtime.send stores them, here and on Supabase): the design
           -- budgets about ten per conversation.
           'realtimeMessages', (select count(*) from realtime.messages m where m.topic = 'pgflow:run:' || r.run_id::text),
           'steps', (
               select jsonb_agg(jsonb_build_object(
                          'step', s.step_slug,
                          'status', ss.status,
                          'attempts', coalesce(t.attempts_count, 0),
                          'maxAttempts', coalesce(s.opt_max_attempts, f.opt_max_attempts),
                          'startedAt', ss.started_at,
                          'completedAt', ss.completed_at,
                          'failedAt', ss.failed_at,
                          'durationMs', round(extract(epoch from (coalesce(ss.completed_at, ss.failed_at) - ss.started_at)) * 1000),
                          'output', t.output,
                          'error', coalesce(ss.error_message, t.error_message))
                      order by s.step_index)
                 from pgflow.steps s
                 join pgflow.step_states ss on ss.run_id = r.run_id and ss.step_slug = s.step_slug
                 left join pgflow.step_tasks t on t.run_id = r.run_id and t.step_slug = s.step_slug and t.task_index = 0
                where s.flow_slug = r.flow_slug)
       )::text as status
  from pgflow.runs r
  join pgflow.flows f on f.flow_slug = r.flow_slug
 where r.run_id = :#runId::uuid
   and r.input ->> 'userId' = :#userId
