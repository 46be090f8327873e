import { useEffect, useState } from 'react';
import { apiFetch } from './session.js';
import StepList from './StepList.jsx';

export async function fetchRun(runId) {
  const response = await apiFetch(`/api/runs/${encodeURIComponent(runId)}`);
  if (!response.ok) {
    throw new Error(`GET /api/runs/${runId}: ${response.status}`);
  }
  return response.json();
}

/**
 * After a timeout, a lost connection or a failure, the run as PostgreSQL has it (GET /api/runs/{id}): the steps that
 * completed, the answer so far while it is written, and, once the run is done, the stored answer. A run still going on, or one that could not be read, is read
 * again every few seconds.
 */
export default function StoredRun({ runId }) {
  const [run, setRun] = useState(null);
  const [failure, setFailure] = useState(null);

  useEffect(() => {
    let timer;
    let cancelled = false;
    const load = () => fetchRun(runId).then((loaded) => {
      if (cancelled) {
        return;
      }
      setRun(loaded);
      setFailure(null);
      if (loaded.status === 'started') {
        timer = setTimeout(load, 2000);
      }
    }, (error) => {
      // Still offline, say: the run is read again until the gateway answers.
      if (!cancelled) {
        setFailure(error.message);
        timer = setTimeout(load, 2000);
      }
    });
    load();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [runId]);

  if (failure) {
    return <p className="error" data-testid="stored-run-error">{failure}</p>;
  }
  if (!run) {
    return null;
  }
  // While the answer is still being written, the gateway that writes it shows the text so far.
  const answerSoFar = run.steps?.find((step) => step.step === 'respond')?.answerSoFar;
  return (
    <section className="stored-run" data-testid="stored-run" data-status={run.status}>
      <h3>Run {run.status}, as stored</h3>
      <StepList steps={run.steps ?? []} testIdPrefix="stored-step" />
      {run.output?.respond?.answer && <p className="answer" data-testid="stored-answer">{run.output.respond.answer}</p>}
      {!run.output?.respond?.answer && answerSoFar && <p className="answer" data-testid="answer-so-far">{answerSoFar}…</p>}
    </section>
  );
}
