/** pgflow's step states as the page names them; a retry shows which attempt comes next. */
function stateOf(step) {
  switch (step.status) {
    case 'started':
      return { state: 'running', label: 'running' };
    case 'retrying':
      return { state: 'retrying', label: `retrying ${step.attempt}/${step.maxAttempts}` };
    case 'completed':
      return { state: 'done', label: 'done' };
    case 'failed':
      return { state: 'failed', label: 'failed' };
    case 'created':
    case 'waiting':
      return { state: 'waiting', label: 'waiting' };
    default:
      return { state: step.status, label: step.status };
  }
}

function duration(ms) {
  if (ms == null) {
    return '';
  }
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/** The pipeline's steps with their state, duration and last error: live from data-step parts, or as stored. */
export default function StepList({ steps, testIdPrefix }) {
  return (
    <ol className="steps">
      {steps.map((step) => {
        const { state, label } = stateOf(step);
        return (
          <li key={step.step} className={`step ${state}`} data-testid={`${testIdPrefix}-${step.step}`} data-state={state}>
            <span className="name">{step.step}</span>
            <span className="state" data-testid="step-state">{label}</span>
            <span className="duration" data-testid="step-duration">{duration(step.durationMs)}</span>
            {step.error && <span className="step-error">{step.error}</span>}
          </li>
        );
      })}
    </ol>
  );
}
