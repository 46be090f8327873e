-- How one gateway instance tells that another is gone without waiting for its heartbeat to go stale
-- (docs/decisions/0012). Each gateway worker holds, for its whole life and on a connection of its own, a
-- session-level advisory lock in the two-key form: key 1 is this project's key space, 1885824631 (0x70676677, "pgfw"),
-- key 2 the worker's lock_key below. PostgreSQL frees such a lock the moment the session that holds it ends, so a free
-- lock means its worker's process, or at least its connection, is gone. In pg_locks the lock shows as
-- locktype 'advisory', classid 1885824631, objid lock_key, objsubid 2.
--
-- A row here says that its worker takes such a lock. Workers without one (an older gateway, another pgflow worker)
-- are judged by their heartbeat alone, as before.
create table public.gateway_worker_locks (
    worker_id uuid primary key references pgflow.workers (worker_id) on delete cascade,
    -- A number of its own per worker rather than a hash of the worker id: two live workers never share a lock.
    lock_key integer not null generated always as identity (cycle)
);

-- Whether the worker's lock is held by some session; null for a worker that takes no lock.
create function public.gateway_worker_lock_held(worker_id uuid) returns boolean
language sql
stable
set search_path = ''
as $$
    select exists (
               select 1
                 from pg_catalog.pg_locks l
                where l.locktype = 'advisory'
                  and l.granted
                  and l.database = (select d.oid from pg_catalog.pg_database d where d.datname = pg_catalog.current_database())
                  and l.classid = 1885824631::oid
                  and l.objid = k.lock_key::oid
                  and l.objsubid = 2)
      from public.gateway_worker_locks k
     where k.worker_id = gateway_worker_lock_held.worker_id
$$;

-- Makes the calling session hold the worker's lock: true when it holds it (already, or from now on), false when another
-- session does, null for a worker without a row. Called again and again by the worker, so it takes the lock only once.
create function public.gateway_hold_worker_lock(worker_id uuid) returns boolean
language sql
volatile
set search_path = ''
as $$
    -- case, not or: SQL does not promise to skip the second operand of an or.
    select case when exists (
                         select 1
                           from pg_catalog.pg_locks l
                          where l.locktype = 'advisory'
                            and l.granted
                            and l.pid = pg_catalog.pg_backend_pid()
                            and l.classid = 1885824631::oid
                            and l.objid = k.lock_key::oid
                            and l.objsubid = 2)
                then true
                else pg_catalog.pg_try_advisory_lock(1885824631, k.lock_key)
           end
      from public.gateway_worker_locks k
     where k.worker_id = gateway_hold_worker_lock.worker_id
$$;
