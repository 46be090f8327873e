-- pgmq-compatible stand-in schema, written by this project.
--
-- Why it exists: pgflow 0.8.1's SQL needs the PostgreSQL extension pgmq >= 1.5, which plain PostgreSQL
-- does not ship. This file is applied only when the database lacks pgmq, before pgflow's first migration;
-- on Supabase the real extension is used and this file is not applied.
-- It mirrors pgmq 1.5.1's API as pgflow 0.8.1 uses it: the same names, argument names, argument types,
-- defaults and return types (pgflow's overload resolution and its RETURNS SETOF pgmq.message_record depend
-- on them), the same pgmq.meta bookkeeping and the same lower-cased pgmq.q_<name> / pgmq.a_<name> tables
-- (pgflow.set_vt_batch updates pgmq.q_<name> directly).

-- Replacing functions that belong to the real extension would silently fork it; fail loudly instead.
DO $guard$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'pgmq') THEN
        RAISE EXCEPTION 'the pgmq extension is installed; the pgmq stand-in must not be applied to this database';
    END IF;
END
$guard$;

CREATE SCHEMA IF NOT EXISTS pgmq;
COMMENT ON SCHEMA pgmq IS 'Project''s pgmq-compatible stand-in for plain PostgreSQL (no pgmq extension)';

-- Types are created only if absent because CREATE TYPE has no IF NOT EXISTS and re-running must not fail.
DO $types$
BEGIN
    IF pg_catalog.to_regtype('pgmq.message_record') IS NULL THEN
        CREATE TYPE pgmq.message_record AS (
            msg_id      bigint,
            read_ct     integer,
            enqueued_at timestamp with time zone,
            vt          timestamp with time zone,
            message     jsonb,
            headers     jsonb
        );
    END IF;
    IF pg_catalog.to_regtype('pgmq.queue_record') IS NULL THEN
        CREATE TYPE pgmq.queue_record AS (
            queue_name     varchar,
            is_partitioned boolean,
            is_unlogged    boolean,
            created_at     timestamp with time zone
        );
    END IF;
    IF pg_catalog.to_regtype('pgmq.metrics_result') IS NULL THEN
        CREATE TYPE pgmq.metrics_result AS (
            queue_name           text,
            queue_length         bigint,
            newest_msg_age_sec   integer,
            oldest_msg_age_sec   integer,
            total_messages       bigint,
            scrape_time          timestamp with time zone,
            queue_visible_length bigint
        );
    END IF;
END
$types$;
COMMENT ON TYPE pgmq.message_record IS 'Project''s pgmq-compatible stand-in: a queue message as returned by read/pop/set_vt';
COMMENT ON TYPE pgmq.queue_record IS 'Project''s pgmq-compatible stand-in: a pgmq.meta row as returned by list_queues';
COMMENT ON TYPE pgmq.metrics_result IS 'Project''s pgmq-compatible stand-in: one queue''s metrics';

CREATE TABLE IF NOT EXISTS pgmq.meta (
    queue_name     varchar                  NOT NULL UNIQUE,
    is_partitioned boolean                  NOT NULL,
    is_unlogged    boolean                  NOT NULL,
    created_at     timestamp with time zone NOT NULL DEFAULT now()
);
COMMENT ON TABLE pgmq.meta IS 'Project''s pgmq-compatible stand-in: registry of queues (pgflow.create_flow checks it via list_queues)';

CREATE OR REPLACE FUNCTION pgmq.validate_queue_name(queue_name text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
BEGIN
    -- 48 keeps q_<name>_msg_id_seq and our index names within PostgreSQL's 63-byte identifier limit.
    IF pg_catalog.length(queue_name) >= 48 THEN
        RAISE EXCEPTION 'queue name is too long, maximum length is 47 characters';
    END IF;
END;
$fn$;
COMMENT ON FUNCTION pgmq.validate_queue_name(text) IS 'Project''s pgmq-compatible stand-in: rejects queue names of 48 characters or more';

CREATE OR REPLACE FUNCTION pgmq.format_table_name(queue_name text, prefix text)
RETURNS text
LANGUAGE plpgsql
IMMUTABLE
AS $fn$
BEGIN
    -- Queue names end up in table names; callers also quote with %I, this is a second line of defence.
    IF queue_name ~ '\$|;|--|''' THEN
        RAISE EXCEPTION 'queue name contains invalid characters: $, ;, --, or ''';
    END IF;
    -- Lower-casing matches pgmq, so pgmq.q_<name> is the same table however the flow slug is cased.
    RETURN pg_catalog.lower(prefix || '_' || queue_name);
END;
$fn$;
COMMENT ON FUNCTION pgmq.format_table_name(text, text) IS 'Project''s pgmq-compatible stand-in: maps a queue name to its q_/a_ table name';

CREATE OR REPLACE FUNCTION pgmq.create(queue_name text)
RETURNS void
LANGUAGE plpgsql
AS $fn$
DECLARE
    qtable text := pgmq.format_table_name(queue_name, 'q');
    atable text := pgmq.format_table_name(queue_name, 'a');
BEGIN
    PERFORM pgmq.validate_queue_name(queue_name);

    -- Concurrent CREATE TABLE IF NOT EXISTS on the same name can still collide in the catalogs; serialise creators.
    PERFORM pg_catalog.pg_advisory_xact_lock(pg_catalog.hashtext('pgmq.create'), pg_catalog.hashtext(qtable));

    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS pgmq.%I (
            msg_id      bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY,
            read_ct     integer NOT NULL DEFAULT 0,
            enqueued_at timestamp with time zone NOT NULL DEFAULT now(),
            vt          timestamp with time zone NOT NULL,
            message     jsonb,
            headers     jsonb
        )', qtable);
    EXECUTE format(
        'CREATE TABLE IF NOT EXISTS pgmq.%I (
            msg_id      bigint PRIMARY KEY,
            read_ct     integer,
            enqueued_at timestamp with time zone,
            archived_at timestamp with time zone NOT NULL DEFAULT now(),
            vt          timestamp with time zone NOT NULL,
            message     jsonb,
            headers     jsonb
        )', atable);
    -- read scans by vt; archive retention scans by archived_at.
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (vt)', qtable || '_vt_idx', qtable);
    EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON pgmq.%I (archived_at)', atable || '_arch_idx', atable);

    -- No conflict target: a target column named queue_name would be ambiguous with the parameter in PL/pgSQL.
    INSERT INTO pgmq.meta (queue_name, is_partitioned, is_unlogged)
    VALUES (queue_name, false, false)
    ON CONFLICT DO NOTHING;
END;
$fn$;
COMMENT ON FUNCTION pgmq.create(text) IS 'Project''s pgmq-compatible stand-in: creates a non-partitioned queue (idempotent)';

CREATE OR REPLACE FUNCTION pgmq.list_queues()
RETURNS SETOF pgmq.queue_record
LANGUAGE sql
AS $fn$
    SELECT m.queue_name, m.is_partitioned, m.is_unlogged, m.created_at FROM pgmq.meta AS m;
$fn$;
COMMENT ON FUNCTION pgmq.list_queues() IS 'Project''s pgmq-compatible stand-in: lists registered queues';

CREATE OR REPLACE FUNCTION pgmq.drop_queue(queue_name text)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
DECLARE
    qtable  text := pgmq.format_table_name(queue_name, 'q');
    atable  text := pgmq.format_table_name(queue_name, 'a');
    existed boolean;
BEGIN
    existed := pg_catalog.to_regclass(format('pgmq.%I', qtable)) IS NOT NULL
            OR EXISTS (SELECT 1 FROM pgmq.meta AS m WHERE m.queue_name = $1);
    EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', qtable);
    EXECUTE format('DROP TABLE IF EXISTS pgmq.%I', atable);
    DELETE FROM pgmq.meta AS m WHERE m.queue_name = $1;
    RETURN existed;
END;
$fn$;
COMMENT ON FUNCTION pgmq.drop_queue(text) IS 'Project''s pgmq-compatible stand-in: drops a queue, its archive and its meta row';

-- Sending. Every variant funnels into one batch routine so single and batch sends cannot drift apart.
-- Integer delays carry DEFAULT 0 and timestamptz delays none, so pgflow's send(text, jsonb) and
-- send(text, jsonb, int) / send_batch(text, jsonb[], int) each resolve to exactly one function.

CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[], delay timestamp with time zone)
RETURNS SETOF bigint
LANGUAGE plpgsql
AS $fn$
DECLARE
    qtable text := pgmq.format_table_name(queue_name, 'q');
BEGIN
    -- Rows are inserted in array order, so identity values grow in array order; the outer ORDER BY then
    -- returns ids in array order, which pgflow relies on when it pairs them WITH ORDINALITY.
    RETURN QUERY EXECUTE format(
        'WITH inserted AS (
            INSERT INTO pgmq.%I (vt, message, headers)
            SELECT $1, m.msg, $3[m.ord]
            FROM unnest($2) WITH ORDINALITY AS m(msg, ord)
            ORDER BY m.ord
            RETURNING msg_id
        )
        SELECT msg_id FROM inserted ORDER BY msg_id', qtable)
    USING delay, msgs, headers;
END;
$fn$;
COMMENT ON FUNCTION pgmq.send_batch(text, jsonb[], jsonb[], timestamp with time zone) IS 'Project''s pgmq-compatible stand-in: enqueues messages with headers, visible from a given time';

CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], headers jsonb[], delay integer DEFAULT 0)
RETURNS SETOF bigint
LANGUAGE sql
AS $fn$
    -- One clock reading for the whole batch: all rows share the same vt.
    SELECT * FROM pgmq.send_batch($1, $2, $3, clock_timestamp() + make_interval(secs => $4));
$fn$;
COMMENT ON FUNCTION pgmq.send_batch(text, jsonb[], jsonb[], integer) IS 'Project''s pgmq-compatible stand-in: enqueues messages with headers after a delay in seconds';

CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay timestamp with time zone)
RETURNS SETOF bigint
LANGUAGE sql
AS $fn$
    SELECT * FROM pgmq.send_batch($1, $2, NULL::jsonb[], $3);
$fn$;
COMMENT ON FUNCTION pgmq.send_batch(text, jsonb[], timestamp with time zone) IS 'Project''s pgmq-compatible stand-in: enqueues messages visible from a given time';

CREATE OR REPLACE FUNCTION pgmq.send_batch(queue_name text, msgs jsonb[], delay integer DEFAULT 0)
RETURNS SETOF bigint
LANGUAGE sql
AS $fn$
    SELECT * FROM pgmq.send_batch($1, $2, NULL::jsonb[], clock_timestamp() + make_interval(secs => $3));
$fn$;
COMMENT ON FUNCTION pgmq.send_batch(text, jsonb[], integer) IS 'Project''s pgmq-compatible stand-in: enqueues messages after a delay in seconds (used by pgflow.start_ready_steps)';

CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay timestamp with time zone)
RETURNS SETOF bigint
LANGUAGE sql
AS $fn$
    SELECT * FROM pgmq.send_batch($1, ARRAY[$2], ARRAY[$3], $4);
$fn$;
COMMENT ON FUNCTION pgmq.send(text, jsonb, jsonb, timestamp with time zone) IS 'Project''s pgmq-compatible stand-in: enqueues one message with headers, visible from a given time';

CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, headers jsonb, delay integer DEFAULT 0)
RETURNS SETOF bigint
LANGUAGE sql
AS $fn$
    SELECT * FROM pgmq.send_batch($1, ARRAY[$2], ARRAY[$3], clock_timestamp() + make_interval(secs => $4));
$fn$;
COMMENT ON FUNCTION pgmq.send(text, jsonb, jsonb, integer) IS 'Project''s pgmq-compatible stand-in: enqueues one message with headers after a delay in seconds';

CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, delay timestamp with time zone)
RETURNS SETOF bigint
LANGUAGE sql
AS $fn$
    SELECT * FROM pgmq.send_batch($1, ARRAY[$2], NULL::jsonb[], $3);
$fn$;
COMMENT ON FUNCTION pgmq.send(text, jsonb, timestamp with time zone) IS 'Project''s pgmq-compatible stand-in: enqueues one message visible from a given time';

CREATE OR REPLACE FUNCTION pgmq.send(queue_name text, msg jsonb, delay integer DEFAULT 0)
RETURNS SETOF bigint
LANGUAGE sql
AS $fn$
    SELECT * FROM pgmq.send_batch($1, ARRAY[$2], NULL::jsonb[], clock_timestamp() + make_interval(secs => $3));
$fn$;
COMMENT ON FUNCTION pgmq.send(text, jsonb, integer) IS 'Project''s pgmq-compatible stand-in: enqueues one message after a delay in seconds';

CREATE OR REPLACE FUNCTION pgmq.read(queue_name text, vt integer, qty integer, conditional jsonb DEFAULT '{}')
RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql
AS $fn$
DECLARE
    qtable text := pgmq.format_table_name(queue_name, 'q');
BEGIN
    -- A single statement with SKIP LOCKED is what lets concurrent readers split the queue without
    -- handing the same message to two of them. An empty (or NULL) condition matches every message,
    -- including non-object bodies that @> '{}' would reject.
    RETURN QUERY EXECUTE format(
        'WITH picked AS (
            SELECT q.msg_id
            FROM pgmq.%1$I AS q
            WHERE q.vt <= clock_timestamp()
              AND ($3 IS NULL OR $3 = ''{}''::jsonb OR q.message @> $3)
            ORDER BY q.msg_id
            LIMIT $2
            FOR UPDATE SKIP LOCKED
        ), updated AS (
            UPDATE pgmq.%1$I AS m
            SET vt = clock_timestamp() + make_interval(secs => $1),
                read_ct = m.read_ct + 1
            FROM picked
            WHERE m.msg_id = picked.msg_id
            RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers
        )
        SELECT * FROM updated ORDER BY msg_id', qtable)
    USING vt, qty, conditional;
END;
$fn$;
COMMENT ON FUNCTION pgmq.read(text, integer, integer, jsonb) IS 'Project''s pgmq-compatible stand-in: takes up to qty visible messages and hides them for vt seconds';

CREATE OR REPLACE FUNCTION pgmq.read_with_poll(
    queue_name text,
    vt integer,
    qty integer,
    max_poll_seconds integer DEFAULT 5,
    poll_interval_ms integer DEFAULT 100,
    conditional jsonb DEFAULT '{}'
)
RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql
AS $fn$
DECLARE
    -- clock_timestamp, not now(): now() is frozen for the whole transaction and would never reach the deadline.
    stop_at timestamp with time zone := clock_timestamp() + make_interval(secs => max_poll_seconds);
BEGIN
    LOOP
        IF clock_timestamp() >= stop_at THEN
            RETURN;
        END IF;
        -- Each iteration is a new statement with a fresh snapshot, so messages committed meanwhile are seen.
        RETURN QUERY SELECT * FROM pgmq.read(queue_name, vt, qty, conditional);
        IF FOUND THEN
            RETURN;
        END IF;
        PERFORM pg_catalog.pg_sleep(poll_interval_ms::numeric / 1000);
    END LOOP;
END;
$fn$;
COMMENT ON FUNCTION pgmq.read_with_poll(text, integer, integer, integer, integer, jsonb) IS 'Project''s pgmq-compatible stand-in: read, retried every poll_interval_ms until messages arrive or max_poll_seconds pass';

CREATE OR REPLACE FUNCTION pgmq.set_vt(queue_name text, msg_id bigint, vt integer)
RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql
AS $fn$
DECLARE
    qtable text := pgmq.format_table_name(queue_name, 'q');
BEGIN
    -- Relative to now, not to the old vt: pgflow's retry backoff passes a delay in seconds.
    RETURN QUERY EXECUTE format(
        'UPDATE pgmq.%I AS q
         SET vt = clock_timestamp() + make_interval(secs => $2)
         WHERE q.msg_id = $1
         RETURNING q.msg_id, q.read_ct, q.enqueued_at, q.vt, q.message, q.headers', qtable)
    USING msg_id, vt;
END;
$fn$;
COMMENT ON FUNCTION pgmq.set_vt(text, bigint, integer) IS 'Project''s pgmq-compatible stand-in: hides a message for vt seconds from now (used by pgflow.fail_task)';

CREATE OR REPLACE FUNCTION pgmq.archive(queue_name text, msg_ids bigint[])
RETURNS SETOF bigint
LANGUAGE plpgsql
AS $fn$
DECLARE
    qtable text := pgmq.format_table_name(queue_name, 'q');
    atable text := pgmq.format_table_name(queue_name, 'a');
BEGIN
    -- Delete and insert in one statement so a message is never in both tables or in neither.
    RETURN QUERY EXECUTE format(
        'WITH moved AS (
            DELETE FROM pgmq.%I AS q
            WHERE q.msg_id = ANY($1)
            RETURNING q.msg_id, q.vt, q.read_ct, q.enqueued_at, q.message, q.headers
        )
        INSERT INTO pgmq.%I (msg_id, vt, read_ct, enqueued_at, message, headers)
        SELECT moved.msg_id, moved.vt, moved.read_ct, moved.enqueued_at, moved.message, moved.headers
        FROM moved
        RETURNING msg_id', qtable, atable)
    USING msg_ids;
END;
$fn$;
COMMENT ON FUNCTION pgmq.archive(text, bigint[]) IS 'Project''s pgmq-compatible stand-in: moves messages to the archive table, returning the ids moved';

CREATE OR REPLACE FUNCTION pgmq.archive(queue_name text, msg_id bigint)
RETURNS boolean
LANGUAGE sql
AS $fn$
    SELECT EXISTS (SELECT 1 FROM pgmq.archive($1, ARRAY[$2]));
$fn$;
COMMENT ON FUNCTION pgmq.archive(text, bigint) IS 'Project''s pgmq-compatible stand-in: moves one message to the archive table (used by pgflow.complete_task)';

CREATE OR REPLACE FUNCTION pgmq.delete(queue_name text, msg_ids bigint[])
RETURNS SETOF bigint
LANGUAGE plpgsql
AS $fn$
DECLARE
    qtable text := pgmq.format_table_name(queue_name, 'q');
BEGIN
    RETURN QUERY EXECUTE format(
        'DELETE FROM pgmq.%I AS q WHERE q.msg_id = ANY($1) RETURNING q.msg_id', qtable)
    USING msg_ids;
END;
$fn$;
COMMENT ON FUNCTION pgmq.delete(text, bigint[]) IS 'Project''s pgmq-compatible stand-in: deletes messages without archiving, returning the ids deleted';

CREATE OR REPLACE FUNCTION pgmq.delete(queue_name text, msg_id bigint)
RETURNS boolean
LANGUAGE sql
AS $fn$
    SELECT EXISTS (SELECT 1 FROM pgmq.delete($1, ARRAY[$2]));
$fn$;
COMMENT ON FUNCTION pgmq.delete(text, bigint) IS 'Project''s pgmq-compatible stand-in: deletes one message without archiving';

CREATE OR REPLACE FUNCTION pgmq.pop(queue_name text)
RETURNS SETOF pgmq.message_record
LANGUAGE plpgsql
AS $fn$
DECLARE
    qtable text := pgmq.format_table_name(queue_name, 'q');
BEGIN
    -- SKIP LOCKED for the same reason as read: two poppers must not get the same message.
    RETURN QUERY EXECUTE format(
        'WITH picked AS (
            SELECT q.msg_id
            FROM pgmq.%1$I AS q
            WHERE q.vt <= clock_timestamp()
            ORDER BY q.msg_id
            LIMIT 1
            FOR UPDATE SKIP LOCKED
        )
        DELETE FROM pgmq.%1$I AS m
        USING picked
        WHERE m.msg_id = picked.msg_id
        RETURNING m.msg_id, m.read_ct, m.enqueued_at, m.vt, m.message, m.headers', qtable);
END;
$fn$;
COMMENT ON FUNCTION pgmq.pop(text) IS 'Project''s pgmq-compatible stand-in: reads and deletes the oldest visible message';

CREATE OR REPLACE FUNCTION pgmq.purge_queue(queue_name text)
RETURNS bigint
LANGUAGE plpgsql
AS $fn$
DECLARE
    qtable  text := pgmq.format_table_name(queue_name, 'q');
    deleted bigint;
BEGIN
    EXECUTE format('DELETE FROM pgmq.%I', qtable);
    GET DIAGNOSTICS deleted = ROW_COUNT;
    RETURN deleted;
END;
$fn$;
COMMENT ON FUNCTION pgmq.purge_queue(text) IS 'Project''s pgmq-compatible stand-in: deletes all queued messages (archive kept), returning how many';

CREATE OR REPLACE FUNCTION pgmq.metrics(queue_name text)
RETURNS pgmq.metrics_result
LANGUAGE plpgsql
AS $fn$
DECLARE
    qtable text := pgmq.format_table_name(queue_name, 'q');
    seq    text;
    result pgmq.metrics_result;
BEGIN
    seq := pg_catalog.pg_get_serial_sequence(format('pgmq.%I', qtable), 'msg_id');
    -- Messages ever sent = how far the identity sequence has advanced; a never-used sequence has sent none.
    EXECUTE format(
        'SELECT $1::text,
                count(*)::bigint,
                extract(epoch FROM (now() - max(q.enqueued_at)))::integer,
                extract(epoch FROM (now() - min(q.enqueued_at)))::integer,
                (SELECT CASE WHEN s.is_called THEN s.last_value ELSE 0 END FROM %s AS s),
                now(),
                (count(*) FILTER (WHERE q.vt <= clock_timestamp()))::bigint
         FROM pgmq.%I AS q', seq, qtable)
    INTO result
    USING queue_name;
    RETURN result;
END;
$fn$;
COMMENT ON FUNCTION pgmq.metrics(text) IS 'Project''s pgmq-compatible stand-in: queue length, ages and totals for one queue';

CREATE OR REPLACE FUNCTION pgmq.metrics_all()
RETURNS SETOF pgmq.metrics_result
LANGUAGE plpgsql
AS $fn$
DECLARE
    qname varchar;
BEGIN
    FOR qname IN SELECT m.queue_name FROM pgmq.meta AS m ORDER BY m.queue_name LOOP
        RETURN NEXT pgmq.metrics(qname);
    END LOOP;
END;
$fn$;
COMMENT ON FUNCTION pgmq.metrics_all() IS 'Project''s pgmq-compatible stand-in: metrics for every registered queue';
