-- Conversations kept by the server (the AI SDK's message-persistence pattern): a user's chats and their UIMessages,
-- as useChat takes them. The user message is stored when its request is accepted, the assistant message when its
-- stream ends (after a stop or an error too, with what was streamed). A chat belongs to the user whose token sent
-- its first message; another user neither sees it nor adds to it.

create table public.gateway_chats (
    user_id    text        not null,
    chat_id    text        not null,
    title      text        not null,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    primary key (user_id, chat_id)
);

create index gateway_chats_newest_idx on public.gateway_chats (user_id, updated_at desc, chat_id);

create table public.gateway_chat_messages (
    user_id    text        not null,
    chat_id    text        not null,
    message_id text        not null,
    position   bigint      generated always as identity,
    role       text        not null constraint gateway_chat_messages_role check (role in ('system', 'user', 'assistant')),
    message    jsonb       not null,
    run_id     uuid,
    created_at timestamptz not null default now(),
    primary key (user_id, chat_id, message_id),
    foreign key (user_id, chat_id) references public.gateway_chats (user_id, chat_id) on delete cascade
);

create index gateway_chat_messages_order_idx on public.gateway_chat_messages (user_id, chat_id, position);

comment on table public.gateway_chats is 'A user''s chats, titled by their first question (GET /api/chats)';
comment on table public.gateway_chat_messages is 'The UIMessages of a chat, in order (GET /api/chats/{chatId})';
