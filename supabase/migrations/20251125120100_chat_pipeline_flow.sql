-- The flow every chat message runs: search -> analyze -> respond (respond also reads search's results).
-- Options are chosen per step (effective value = step option, else flow option):
--   search  : local SQL, fast and cheap to repeat: 3 attempts, 10 s timeout.
--   analyze : one LLM call: 3 attempts, 60 s timeout.
--   respond : a streamed LLM answer the user may be watching; a repeat restarts the text, so only 2 attempts,
--             and a long timeout because a model may stream for minutes.
-- base_delay 1 s: pgflow waits floor(base_delay * 2^attempts) before a retry, i.e. 2 s, then 4 s.
-- create_flow/add_step keep an existing definition unchanged, so changing options needs a new migration
-- that updates pgflow.flows / pgflow.steps.

select pgflow.create_flow('chat_pipeline', max_attempts => 3, base_delay => 1, timeout => 60);
select pgflow.add_step('chat_pipeline', 'search', max_attempts => 3, timeout => 10);
select pgflow.add_step('chat_pipeline', 'analyze', deps_slugs => array['search'], max_attempts => 3, timeout => 60);
select pgflow.add_step('chat_pipeline', 'respond', deps_slugs => array['search', 'analyze'], max_attempts => 2, timeout => 300);

-- Workers wait for this NOTIFY instead of sleeping between polls. It fires once per statement that enqueues
-- tasks (pgmq.send_batch inside pgflow.start_ready_steps) and is delivered when that transaction commits.
-- The trigger sits on pgmq's queue table, so it works with the pgmq extension and with the stand-in alike.
create or replace function public.notify_pgmq_queue() returns trigger
language plpgsql
as $$
begin
    perform pg_notify('pgmq_queue', tg_argv[0]);
    return null;
end;
$$;

create trigger chat_pipeline_queue_notify
    after insert on pgmq.q_chat_pipeline
    for each statement execute function public.notify_pgmq_queue('chat_pipeline');
