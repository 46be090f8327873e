-- Storing a question in one call (issue 13, item 6): the chat's upsert, the edit's truncation, the history read and
-- the insert ran as five statements in a transaction, each a round trip; this function does them in one.
--
-- A question whose message id is stored already (an edit, a regenerate) replaces that message and what followed it,
-- as useChat does on the client. The chat's row is locked by the upsert first, so two requests of one chat store
-- their messages one after the other. Returns the conversation before the question, oldest first: the text of the
-- latest max_turns messages that have any, and whether the chat had any message stored at all (a chat with none
-- takes its history from the request).

create function public.gateway_record_question(question_user text, question_chat text, chat_title text,
                                               question_id text, question jsonb, max_turns integer,
                                               out any_stored boolean, out message_ids text[], out roles text[],
                                               out texts text[])
language plpgsql
volatile
set search_path = ''
as $$
declare
    edited bigint;
begin
    insert into public.gateway_chats (user_id, chat_id, title) values (question_user, question_chat, chat_title)
    on conflict (user_id, chat_id) do update set updated_at = pg_catalog.now();

    select m.position into edited
      from public.gateway_chat_messages m
     where m.user_id = question_user and m.chat_id = question_chat and m.message_id = question_id;
    if edited is not null then
        delete from public.gateway_chat_messages m
         where m.user_id = question_user and m.chat_id = question_chat and m.position >= edited;
    end if;

    select exists (select 1 from public.gateway_chat_messages m where m.user_id = question_user and m.chat_id = question_chat)
      into any_stored;

    select coalesce(pg_catalog.array_agg(t.message_id order by t.position), '{}'),
           coalesce(pg_catalog.array_agg(t.role order by t.position), '{}'),
           coalesce(pg_catalog.array_agg(t.text order by t.position), '{}')
      into message_ids, roles, texts
      from (select turns.message_id, turns.role, turns.position, turns.text
              from (select m.message_id, m.role, m.position,
                           coalesce((select pg_catalog.string_agg(p.part ->> 'text', '' order by p.n)
                                       from pg_catalog.jsonb_array_elements(m.message -> 'parts') with ordinality as p(part, n)
                                      where p.part ->> 'type' = 'text'), '') as text
                      from public.gateway_chat_messages m
                     where m.user_id = question_user and m.chat_id = question_chat) turns
             where turns.text ~ '\S'
             order by turns.position desc
             limit max_turns) t;

    insert into public.gateway_chat_messages (user_id, chat_id, message_id, role, message)
    values (question_user, question_chat, question_id, 'user', question);
end
$$;

comment on function public.gateway_record_question is
    'Stores a chat request''s question and returns the conversation before it (POST /api/chat)';
