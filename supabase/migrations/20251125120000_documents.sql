-- The corpus the `search` step ranks with PostgreSQL full-text search.
-- One row is one chunk of a document (a section of a Markdown file, say); `source` says where it came from
-- so answers can cite it, and (source, chunk) makes re-indexing a document an upsert.

create table public.documents (
    id            bigint generated always as identity primary key,
    source        text        not null,
    chunk         int         not null default 0,
    title         text        not null,
    content       text        not null,
    search_vector tsvector generated always as (
        setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', content), 'B')
    ) stored,
    created_at    timestamptz not null default now(),
    updated_at    timestamptz not null default now(),
    constraint documents_source_chunk_key unique (source, chunk),
    constraint documents_title_not_blank check (btrim(title) <> ''),
    constraint documents_content_not_blank check (btrim(content) <> '')
);

create index documents_search_vector_idx on public.documents using gin (search_vector);

comment on table public.documents is 'Chunks of documents searched by the chat_pipeline search step';
