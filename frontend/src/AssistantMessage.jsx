import { Fragment } from 'react';
import { openDocument } from './documents.js';
import StepList from './StepList.jsx';

export function runIdOf(message) {
  return message.parts.find((part) => part.type === 'data-run')?.data.runId ?? message.metadata?.runId ?? null;
}

/**
 * The sources the answer draws on, from the AI SDK's own source-document parts (the gateway's rank, document id,
 * snippet and score are in providerMetadata.pgflowChat); a message stored before those parts existed has only
 * data-search.
 */
function sourcesOf(message, search) {
  const documents = message.parts.filter((part) => part.type === 'source-document');
  if (documents.length === 0) {
    return search?.results ?? [];
  }
  return documents.map((document) => {
    const fields = document.providerMetadata?.pgflowChat ?? {};
    return { sourceId: document.sourceId, rank: fields.rank, documentId: fields.documentId, title: document.title, source: document.filename,
      snippet: fields.snippet ?? '', score: fields.score };
  });
}

/** The answer cites its sources as [n]; each becomes a link to source n of this message. */
function AnswerText({ text, anchorOf }) {
  return text.split(/(\[\d+\])/).map((piece, index) => {
    const cited = /^\[(\d+)\]$/.exec(piece);
    const anchor = cited && anchorOf(Number(cited[1]));
    return anchor
      ? <a key={index} href={`#${anchor}`} data-testid="citation">{piece}</a>
      : <Fragment key={index}>{piece}</Fragment>;
  });
}

export default function AssistantMessage({ message }) {
  const part = (type) => message.parts.find((candidate) => candidate.type === type)?.data;
  const run = part('data-run');
  const search = part('data-search');
  const analysis = part('data-analysis');
  const steps = message.parts.filter((candidate) => candidate.type === 'data-step').map((candidate) => candidate.data);
  // A respond attempt that failed mid-answer keeps its text part; the retried attempt streams a new one.
  const texts = message.parts.filter((candidate) => candidate.type === 'text');
  const answer = texts.at(-1);
  const results = sourcesOf(message, search);
  const anchorOf = (rank) => (results.some((result) => result.rank === rank) ? `source-${message.id}-${rank}` : null);

  return (
    <li className="assistant" data-testid="assistant-message" data-run-id={run?.runId ?? ''}>
      {run && (
        <p className="run">
          run <code data-testid="run-id">{run.runId}</code>
          {run.retryOf && <> (retry of <code data-testid="retry-of">{run.retryOf}</code>)</>} · {run.model}
        </p>
      )}
      {steps.length > 0 && <StepList steps={steps} testIdPrefix="step" />}
      {analysis?.summary && <p className="analysis" data-testid="analysis-summary">{analysis.summary}</p>}
      {texts.slice(0, -1).map((earlier) => (
        <details key={earlier.id ?? earlier.text} className="earlier-attempt">
          <summary>an earlier attempt that failed mid-answer</summary>
          {earlier.text}
        </details>
      ))}
      {answer && (
        <div className="answer" data-testid="answer" data-state={answer.state}>
          <AnswerText text={answer.text} anchorOf={anchorOf} />
        </div>
      )}
      {results.length > 0 && (
        <ol className="sources" data-testid="sources">
          {results.map((result) => (
            <li key={result.rank} id={`source-${message.id}-${result.rank}`} data-source-id={result.sourceId ?? ''}
                className={analysis?.sources?.includes(result.rank) ? 'used' : undefined}>
              <a data-testid="source-link" href={`/api/documents/${result.documentId}`} target="_blank" rel="noreferrer"
                 onClick={(event) => openDocument(event, result.documentId)}>
                [{result.rank}] {result.title}
              </a>
              <span className="origin">{result.source}</span>
              <p className="snippet">{result.snippet}</p>
            </li>
          ))}
        </ol>
      )}
    </li>
  );
}
