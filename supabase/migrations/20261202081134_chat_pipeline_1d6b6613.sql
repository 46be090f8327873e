-- Flow chat_pipeline, version chat_pipeline_1d6b6613: compiled from the shape its step routes declare.
-- Steps, in the order they are added:
--   search: no dependencies; 3 attempts, base delay 1 s, timeout 10 s
--   analyze: after search; 3 attempts, base delay 1 s, timeout 60 s
--   respond: after search, analyze; 2 attempts, base delay 1 s, timeout 300 s
-- The version is the first 8 hex digits of the sha256 of this canonical form:
--   flow chat_pipeline
--   step analyze dependsOn=search maxAttempts=3 baseDelay=1 timeout=60
--   step respond dependsOn=analyze,search maxAttempts=2 baseDelay=1 timeout=300
--   step search dependsOn= maxAttempts=3 baseDelay=1 timeout=10
-- Run it in one transaction: the advisory locks below last until it ends.

select pg_advisory_xact_lock(1783728694648624232);

do $flow$
begin
    if not exists (select 1 from pgflow.flows where flow_slug = 'chat_pipeline_1d6b6613') then
        perform pgflow.create_flow('chat_pipeline_1d6b6613', max_attempts => 3, base_delay => 1, timeout => 60);
        perform pgflow.add_step('chat_pipeline_1d6b6613', 'search', deps_slugs => array[]::text[], max_attempts => 3, base_delay => 1, timeout => 10);
        perform pgflow.add_step('chat_pipeline_1d6b6613', 'analyze', deps_slugs => array['search'], max_attempts => 3, base_delay => 1, timeout => 60);
        perform pgflow.add_step('chat_pipeline_1d6b6613', 'respond', deps_slugs => array['search', 'analyze'], max_attempts => 2, base_delay => 1, timeout => 300);
    end if;
end
$flow$;

-- Workers wait for this NOTIFY instead of sleeping between polls. It fires once per statement that enqueues
-- tasks (pgmq.send_batch inside pgflow.start_ready_steps) and is delivered when that transaction commits.
select pg_advisory_xact_lock(-5185940737615208267);
create or replace function public.notify_pgmq_queue() returns trigger
language plpgsql
as $$
begin
    perform pg_notify('pgmq_queue', tg_argv[0]);
    return null;
end;
$$;

create or replace trigger chat_pipeline_1d6b6613_queue_notify
    after insert on pgmq.q_chat_pipeline_1d6b6613
    for each statement execute function public.notify_pgmq_queue('chat_pipeline_1d6b6613');
