-- Test double of the part of Supabase Realtime's tenant schema that pgflow and the gateway meet: realtime.messages
-- (partitioned by inserted_at, uuid ids, owned by supabase_realtime_admin, which grants postgres TRIGGER on it) and
-- realtime.send, which records a broadcast there and NOTIFYs nothing (the Realtime server relays the table).
-- Written from supabase/realtime's tenant migrations; only the shape that matters here.

do $$
begin
    if not exists (select from pg_roles where rolname = 'supabase_realtime_admin') then
        create role supabase_realtime_admin nologin noinherit;
    end if;
end
$$;

create schema realtime;
grant usage on schema realtime to public;

create table realtime.messages (
    topic       text      not null,
    extension   text      not null,
    payload     jsonb,
    event       text,
    private     boolean   default false,
    updated_at  timestamp default now() not null,
    inserted_at timestamp default now() not null,
    id          uuid      default gen_random_uuid() not null,
    primary key (id, inserted_at)
) partition by range (inserted_at);

-- The Realtime server creates a partition a day; a default partition takes whatever falls outside them.
create table realtime.messages_default partition of realtime.messages default;

create function realtime.send(payload jsonb, event text, topic text, private boolean default true)
returns void
language plpgsql
as $$
declare
    message_id uuid := gen_random_uuid();
begin
    begin
        perform set_config('realtime.topic', topic, true);
        insert into realtime.messages (id, payload, event, topic, private, extension)
        values (message_id,
                case when payload ? 'id' then payload else jsonb_set(payload, '{id}', to_jsonb(message_id)) end,
                event, topic, private, 'broadcast');
    exception when others then
        raise warning 'ErrorSendingBroadcastMessage: %', sqlerrm;
    end;
end;
$$;

alter table realtime.messages owner to supabase_realtime_admin;
alter table realtime.messages_default owner to supabase_realtime_admin;
grant select, insert, update on realtime.messages to public;
grant delete, truncate, references, trigger on realtime.messages to public;
