-- The per-user limits that hold across instances (docs/decisions/0019), for gateway.limits.store=postgres (the
-- default without REDIS_URL).

-- Request rates: Bucket4j's PostgreSQL backend (select-for-update) keeps one token bucket per key here, e.g.
-- 'chat:<user id>'. state is Bucket4j's own serialized form; expires_at (epoch milliseconds) is when the bucket has
-- refilled completely, after which a fresh bucket is the same and the row may be deleted.
create table public.gateway_rate_buckets (
    id text primary key,
    state bytea,
    expires_at bigint
);
create index gateway_rate_buckets_expires_at on public.gateway_rate_buckets (expires_at);

-- Slots (open chat streams, resume readers): one row per slot held, a lease its instance renews while it holds it.
-- A lease past expires_at no longer counts, so the slots of an instance that was killed free themselves.
create table public.gateway_user_slots (
    lease_id uuid primary key,
    -- which limit: 'streams' or 'readers'
    kind text not null,
    user_id text not null,
    instance_id uuid not null,
    expires_at timestamptz not null
);
create index gateway_user_slots_user on public.gateway_user_slots (kind, user_id);
create index gateway_user_slots_expires_at on public.gateway_user_slots (expires_at);

-- Takes a lease on one of the user's slot_limit slots of a kind, unless all are leased; true when taken. The user's
-- leases are counted and the new one inserted under a transaction-level advisory lock of (kind, user) in the two-key
-- form, key 1 being 1886153069 (0x706c696d, "plim"; the worker locks use another), so two instances cannot both take
-- the last slot. The whole call is one transaction when made as one statement in auto-commit.
create function public.gateway_take_slot(slot_kind text, slot_user text, slot_limit integer, lease uuid,
                                         instance uuid, lease_ms bigint) returns boolean
language plpgsql
volatile
set search_path = ''
as $$
declare
    held integer;
begin
    perform pg_catalog.pg_advisory_xact_lock(1886153069, pg_catalog.hashtext(slot_kind || ':' || slot_user));
    delete from public.gateway_user_slots s
     where s.kind = slot_kind and s.user_id = slot_user and s.expires_at <= pg_catalog.clock_timestamp();
    select count(*) into held from public.gateway_user_slots s where s.kind = slot_kind and s.user_id = slot_user;
    if held >= slot_limit then
        return false;
    end if;
    insert into public.gateway_user_slots (lease_id, kind, user_id, instance_id, expires_at)
    values (lease, slot_kind, slot_user, instance, pg_catalog.clock_timestamp() + lease_ms * interval '1 millisecond');
    return true;
end
$$;
