-- Hybrid search for the search step (docs/decisions/0022): full-text search and embedding similarity each rank up to
-- :#candidates chunks, and reciprocal rank fusion (1 / (k + rank), summed over both lists) orders the union. The
-- score is that sum relative to a chunk ranked first by both, so it lies between 0 and 1. The weights (1 or 0) let
-- gateway.search.mode use one half alone.
-- Full text: any of the question's terms may match (OR), ranked by ts_rank_cd. Similarity: match_document_embeddings
-- (exact, or pgvector's index where the database has it). The snippet is plain text, around the matched terms.
with query as (
    select replace(plainto_tsquery('english', :#query)::text, ' & ', ' | ')::tsquery as terms,
           cast(:#textWeight as float8) as text_weight,
           cast(:#vectorWeight as float8) as vector_weight,
           cast(:#rrfK as float8) as k
),
text_ranked as (
    select d.id, row_number() over (order by ts_rank_cd(d.search_vector, query.terms, 32) desc, d.id) as rank
      from public.documents d, query
     where d.search_vector @@ query.terms
     order by rank
     limit :#candidates
),
vector_ranked as (
    select m.id, row_number() over (order by m.similarity desc, m.id) as rank, m.similarity
      from public.match_document_embeddings(cast(:#embedding as real[]), :#candidates) m, query
     where query.vector_weight > 0
),
fused as (
    select coalesce(t.id, v.id) as id,
           t.rank as text_rank,
           v.rank as vector_rank,
           v.similarity,
           (q.text_weight * coalesce(1 / (q.k + t.rank), 0) + q.vector_weight * coalesce(1 / (q.k + v.rank), 0))
               * (q.k + 1) / (q.text_weight + q.vector_weight) as score
      from text_ranked t
      full join vector_ranked v on v.id = t.id
     cross join query q
)
select d.id,
       d.source,
       d.title,
       d.content,
       ts_headline('english', coalesce(nullif(d.plain_content, ''), d.content), query.terms,
                   'StartSel="", StopSel="", MaxWords=40, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "') as snippet,
       f.score::float8 as score,
       f.text_rank,
       f.vector_rank,
       f.similarity
  from fused f
  join public.documents d on d.id = f.id, query
 where f.score > 0
 order by f.score desc, d.id
 limit :#limit
