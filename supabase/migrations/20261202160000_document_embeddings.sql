-- The search step's vector half (docs/decisions/0022): each chunk's plain text and its sentence embedding,
-- written by the gateway when the chunk is (all-MiniLM-L6-v2, 384 values of unit length), and filled in the
-- background for rows written before this migration.

alter table public.documents
    add column plain_content text,
    add column embedding real[] constraint documents_embedding_dimensions check (array_length(embedding, 1) = 384);

comment on column public.documents.plain_content is 'The chunk as plain text (no Markdown syntax): snippets and offline answers quote it';
comment on column public.documents.embedding is 'all-MiniLM-L6-v2 embedding of title and plain text, unit length; null until computed';

-- The chunks nearest to a question's embedding, best first. Without pgvector: exact similarity, the dot product of
-- unit vectors (in double precision: real products of small values underflow), computed for every embedded chunk (fine for the corpora of thousands of chunks this serves).
create or replace function public.match_document_embeddings(query_embedding real[], match_count int)
returns table (id bigint, similarity float8)
language sql stable parallel safe
as $$
    select d.id, (select sum(a::float8 * b::float8) from unnest(d.embedding, query_embedding) as v(a, b)) as similarity
      from public.documents d
     where d.embedding is not null
     order by similarity desc, d.id
     limit match_count
$$;

-- With pgvector (Supabase has it): the same answer through an HNSW index on the column cast to vector(384).
do $migration$
declare
    vector_schema text;
begin
    if not exists (select 1 from pg_available_extensions where name = 'vector') then
        raise notice 'pgvector is not available: match_document_embeddings computes exact similarity';
        return;
    end if;
    if not exists (select 1 from pg_extension where extname = 'vector') then
        if exists (select 1 from pg_namespace where nspname = 'extensions') then
            create extension vector with schema extensions;
        else
            create extension vector;
        end if;
    end if;
    select extnamespace::regnamespace::text into vector_schema from pg_extension where extname = 'vector';
    execute format('create index documents_embedding_hnsw_idx on public.documents using hnsw '
                   '((embedding::%1$I.vector(384)) %1$I.vector_cosine_ops)', vector_schema);
    execute format($function$
        create or replace function public.match_document_embeddings(query_embedding real[], match_count int)
        returns table (id bigint, similarity float8)
        language sql stable parallel safe
        as $body$
            select d.id, (1 - (d.embedding::%1$I.vector(384) OPERATOR(%1$I.<=>) query_embedding::%1$I.vector(384)))::float8
              from public.documents d
             where d.embedding is not null
             order by d.embedding::%1$I.vector(384) OPERATOR(%1$I.<=>) query_embedding::%1$I.vector(384), d.id
             limit match_count
        $body$
    $function$, vector_schema);
end
$migration$;
