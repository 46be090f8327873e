-- Where the database has Supabase's own realtime.send (so the stand-in is not applied), nothing NOTIFYs: Supabase's
-- realtime.send only inserts into realtime.messages, which the Realtime server relays to websockets. This trigger
-- announces each of pgflow's run broadcasts on the channel 'realtime_broadcast', as the stand-in does, so that
-- EVENTS_SOURCE=notify works on Supabase too. The notification carries only the topic and the event name: the
-- gateway reads what happened from pgflow's tables, never from the message (anon may insert into realtime.messages).
-- Supabase grants the postgres role TRIGGER on realtime.messages; a row trigger on the partitioned table applies to
-- every partition, present and future. A role without that grant gets a warning here, and the gateway says at start
-- that EVENTS_SOURCE=notify then moves only at the reconciler's pace; EVENTS_SOURCE=supabase does not need it.

create or replace function public.notify_realtime_broadcast()
returns trigger
language plpgsql
as $$
begin
    perform pg_notify('realtime_broadcast', json_build_object('topic', new.topic, 'event', left(new.event, 200))::text);
    return null;
end;
$$;

comment on function public.notify_realtime_broadcast() is
    'NOTIFYs realtime_broadcast for each pgflow run broadcast recorded in realtime.messages (pgflow chat gateway).';

do $$
begin
    drop trigger if exists notify_realtime_broadcast on realtime.messages;
    create trigger notify_realtime_broadcast
        after insert on realtime.messages
        for each row
        when (new.topic like 'pgflow:run:%' and length(new.topic) < 100)
        execute function public.notify_realtime_broadcast();
exception when insufficient_privilege then
    raise warning 'no trigger on realtime.messages (%): with EVENTS_SOURCE=notify run events arrive only with the reconciler', sqlerrm;
end;
$$;
