// Checks a UI Message Stream v1 endpoint with the `ai` package's own browser-side client code:
//   node src/test/js/check-ui-message-stream.mjs <url> <request-body-json-file> [--expect-error]
// Success: one JSON line {"chunks":[...],"message":{...}} (plus "error" with --expect-error) and exit 0.
// Failure: reason on stderr, exit 1.
import { readFile } from 'node:fs/promises';
import { format } from 'node:util';

const [url, bodyFile, flag, ...rest] = process.argv.slice(2);
if (!url || !bodyFile || (flag && flag !== '--expect-error') || rest.length) {
  process.stderr.write('usage: check-ui-message-stream.mjs <url> <request-body-json-file> [--expect-error]\n');
  process.exit(2);
}
const expectError = flag === '--expect-error';

// Warnings from the SDK would be invisible in a passing test, so each one fails the run.
const warnings = [];
globalThis.AI_SDK_LOG_WARNINGS = options => warnings.push(`AI SDK warning: ${JSON.stringify(options.warnings)}`);
process.on('warning', w => warnings.push(`process warning: ${w.name}: ${w.message}`));
for (const level of ['warn', 'error']) console[level] = (...args) => warnings.push(`console.${level}: ${format(...args)}`);
// Imported only now so that warnings raised while `ai` loads are caught too. The bare specifier resolves by
// walking up from this file to the project's node_modules, whatever the cwd.
const { DefaultChatTransport, readUIMessageStream } = await import('ai');

const chunks = [];
function fail(reason) {
  process.stderr.write(`check-ui-message-stream: FAIL: ${reason}\nchunks received: ${JSON.stringify(chunks)}\n`);
  process.exit(1);
}
process.on('unhandledRejection', e => fail(`unhandled rejection: ${e?.stack ?? e}`));

// The file holds what the browser would POST; unknown top-level keys travel as custom body fields, as with useChat({ body }).
const { id: chatId, messages, trigger, messageId, ...body } = JSON.parse(await readFile(bodyFile, 'utf8'));

let message, error;
const errors = [];
try {
  // UI_STREAM_BEARER: a token to send as useChat would with headers: { Authorization: `Bearer ${token}` }.
  const headers = process.env.UI_STREAM_BEARER ? { Authorization: `Bearer ${process.env.UI_STREAM_BEARER}` } : undefined;
  const stream = await new DefaultChatTransport({ api: url, headers }).sendMessages({
    chatId, messages, trigger, messageId, body,
    abortSignal: AbortSignal.timeout(Number(process.env.UI_STREAM_TIMEOUT_MS) || 30_000),
  });
  // useChat stops reading at an `error` chunk (its onError throws), so the recording stops there too.
  const recorded = stream.pipeThrough(new TransformStream({
    transform(chunk, controller) {
      // Cloned: the assembly stores data chunks as parts and later mutates them in place.
      chunks.push(structuredClone(chunk));
      controller.enqueue(chunk);
      if (chunk.type === 'error') controller.terminate();
    },
  }));
  for await (const snapshot of readUIMessageStream({ stream: recorded, terminateOnError: true, onError: e => errors.push(e) })) {
    message = snapshot;
  }
} catch (e) {
  error = e;
}
error ??= errors[0];
if (warnings.length) fail(warnings.join('\n'));

const last = chunks.at(-1);
if (expectError) {
  if (!error) fail('expected an `error` chunk, but the stream completed without an error');
  if (last?.type !== 'error' || error.message !== last.errorText) fail(`expected an \`error\` chunk, got: ${error.stack ?? error}`);
} else {
  if (error) fail(error.stack ?? String(error));
  if (last?.type !== 'finish' || chunks.filter(c => c.type === 'finish').length !== 1) fail('stream did not end with exactly one `finish` chunk');
  // useChat would show no assistant message at all.
  if (!message) fail('stream produced no assistant message');
}

const result = { chunks, message: message ?? null, ...(expectError ? { error: error.message } : {}) };
process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
