-- Starts one chat_pipeline run under a run id the gateway chose (it subscribed to the run's events first).
select run_id::text as run_id
  from pgflow.start_flow(flow_slug => :#flowSlug, input => :#input::jsonb, run_id => :#runId::uuid)
