-- Stand-in for Supabase Realtime's realtime.send, applied only where the database has no realtime schema
-- (plain PostgreSQL, the embedded default). pgflow 0.8.1 broadcasts every run and step change through
-- realtime.send(payload, event, topic, private); here each broadcast is kept in realtime.messages and
-- announced with NOTIFY on the channel 'realtime_broadcast', which the gateway LISTENs to.
-- Like Supabase's version it adds an "id" to the payload and never fails the caller: a broadcast that
-- cannot be recorded becomes a WARNING and pgflow's state change still commits.

create schema if not exists realtime;

create table if not exists realtime.messages (
    id          bigint generated always as identity primary key,
    topic       text        not null,
    event       text        not null,
    payload     jsonb       not null,
    private     boolean     not null default true,
    inserted_at timestamptz not null default clock_timestamp()
);

-- Subscribers look events up by topic when they catch up on a run (after a reconnect, say).
create index if not exists messages_topic_id_idx on realtime.messages (topic, id);

comment on table realtime.messages is
    'Broadcasts sent with realtime.send where Supabase Realtime is absent (pgflow chat gateway stand-in).';

create or replace function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
as $$
declare
    message_id bigint;
begin
    begin
        insert into realtime.messages (topic, event, payload, private)
        values (topic,
                event,
                case when payload ? 'id' then payload else payload || jsonb_build_object('id', gen_random_uuid()) end,
                private)
        returning id into message_id;
        -- NOTIFY payloads are limited to 8000 bytes, so listeners get the row id and read the event themselves.
        perform pg_notify('realtime_broadcast', json_build_object('id', message_id, 'topic', topic, 'event', event)::text);
    exception when others then
        raise warning 'realtime.send could not record % on %: %', event, topic, sqlerrm;
    end;
end;
$$;

comment on function realtime.send(jsonb, text, text, boolean) is
    'Records a broadcast and NOTIFYs realtime_broadcast; never raises (pgflow chat gateway stand-in for Supabase Realtime).';
