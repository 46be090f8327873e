-- Ranked full-text search for the search step. Any of the question's terms may match (OR), and ts_rank_cd with
-- normalization 32 turns the rank into a score between 0 and 1; ts_headline marks matches with **bold**.
with query as (
    select replace(plainto_tsquery('english', :#query)::text, ' & ', ' | ')::tsquery as terms
)
select d.id,
       d.source,
       d.title,
       d.content,
       ts_headline('english', d.content, query.terms,
                   'StartSel=**, StopSel=**, MaxWords=40, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "') as snippet,
       ts_rank_cd(d.search_vector, query.terms, 32)::float8 as score
  from public.documents d, query
 where d.search_vector @@ query.terms
 order by score desc, d.id
 limit :#limit
