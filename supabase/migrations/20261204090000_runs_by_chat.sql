-- A chat's latest run, by the caller and the chat named in the run's input: what a resume on an instance that does
-- not hold the chat's stream looks up (ChatStreams). Without an index that lookup read every run kept, for every
-- client reconnecting after an instance went away (issue 13, resume on any instance).
--
-- Not built concurrently: the Supabase CLI applies a migration in a transaction, where create index concurrently is
-- refused. On a large pgflow.runs table, build it by hand with create index concurrently before this migration runs;
-- "if not exists" then leaves it be.
create index if not exists gateway_runs_by_user_chat
    on pgflow.runs ((input ->> 'userId'), (input ->> 'chatId'), started_at desc);
