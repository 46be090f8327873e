-- One indexed section of a document, as a search result names it (its documentId): what a cited source opens.
select source, title, content
  from public.documents
 where id = :#documentId
