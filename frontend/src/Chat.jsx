import { useChat } from '@ai-sdk/react';
import { DefaultChatTransport } from 'ai';
import { useEffect, useMemo, useState } from 'react';
import AssistantMessage, { runIdOf } from './AssistantMessage.jsx';
import StoredRun, { fetchRun } from './StoredRun.jsx';
import { apiFetch, authHeaders } from './session.js';
import { loadMessages, saveMessages } from './storage.js';

/** The gateway answers errors as {"error":{"code","message"}}; the stream's error chunks are plain text. */
function readableError(error) {
  try {
    return JSON.parse(error.message).error.message ?? error.message;
  } catch {
    return error.message;
  }
}

export default function Chat({ chatId, onUnauthorized, onAnswered }) {
  const transport = useMemo(() => new DefaultChatTransport({
    api: '/api/chat',
    headers: authHeaders,
    // A failed run is started again by the gateway's retry endpoint, which reuses the outputs of the steps that
    // completed instead of running the whole pipeline anew.
    // The gateway keeps the conversation (GET /api/chats/{chatId}) and gives the model its history from there, so
    // only the new (or regenerated) message is sent.
    prepareSendMessagesRequest: ({ id, messages, body, trigger, messageId }) => (body?.retryRunId
      ? { api: `/api/runs/${encodeURIComponent(body.retryRunId)}/retry`, body: {} }
      : { body: { ...body, id, trigger, ...(messageId ? { messageId } : {}), messages: messages.slice(-1) } }),
  }), []);
  const initialMessages = useMemo(() => loadMessages(chatId), [chatId]);
  const { messages, setMessages, sendMessage, status, error, stop, regenerate, resumeStream, clearError } = useChat({
    id: chatId,
    messages: initialMessages,
    transport,
    // After a reload, reconnects to the answer still streaming (GET /api/chat/{chatId}/stream).
    resume: true,
    throttle: 50,
    onFinish: () => onAnswered?.(),
  });
  // The server's copy replaces the cached one, unless an answer is on its way (the stream brings it).
  useEffect(() => {
    let cancelled = false;
    apiFetch(`/api/chats/${encodeURIComponent(chatId)}`)
      .then((response) => (response.ok ? response.json() : null))
      .then((chat) => {
        if (!cancelled && chat?.messages?.length) {
          setMessages((current) => (current.length > chat.messages.length ? current : chat.messages));
        }
      })
      .catch(() => {});
    return () => {
      cancelled = true;
    };
  }, [chatId, setMessages]);
  const [question, setQuestion] = useState('');
  const [stopped, setStopped] = useState(false);

  useEffect(() => saveMessages(chatId, messages), [chatId, messages]);
  useEffect(() => {
    if (error?.statusCode === 401) {
      onUnauthorized();
    }
  }, [error, onUnauthorized]);

  const busy = status === 'submitted' || status === 'streaming';
  const lastAssistant = messages.at(-1)?.role === 'assistant' ? messages.at(-1) : null;
  const lastRunId = lastAssistant ? runIdOf(lastAssistant) : null;

  const send = (event) => {
    event.preventDefault();
    if (!question.trim() || busy) {
      return;
    }
    setStopped(false);
    sendMessage({ text: question.trim() });
    setQuestion('');
  };

  // The stop endpoint cancels the answer on the server at once; aborting the request alone would leave it running
  // until the gateway's disconnect grace period ran out.
  const stopAnswer = async () => {
    setStopped(true);
    await Promise.allSettled([apiFetch(`/api/chat/${encodeURIComponent(chatId)}/stop`, { method: 'POST' }), stop()]);
  };

  // What to do again depends on where the run is: a failed one is retried (completed steps reused), one still
  // running (the connection was lost) is followed again, anything else is asked anew.
  const retry = async () => {
    const run = lastRunId ? await fetchRun(lastRunId).catch(() => null) : null;
    setStopped(false);
    clearError();
    if (run?.status === 'failed') {
      await regenerate({ body: { retryRunId: lastRunId } });
    } else if (run?.status === 'started') {
      await resumeStream();
    } else {
      await regenerate();
    }
  };

  const interrupted = status === 'error' || (stopped && !busy);

  return (
    <main className="chat">
      <ol className="messages" data-testid="messages">
        {messages.map((message) => (message.role === 'user'
          ? (
            <li key={message.id} className="user" data-testid="user-message">
              {message.parts.filter((part) => part.type === 'text').map((part) => part.text).join('\n')}
            </li>
          )
          : <AssistantMessage key={message.id} message={message} />))}
      </ol>
      <p className="status" data-testid="chat-status" data-status={status}>
        {busy ? 'answering…' : stopped ? 'stopped' : status === 'error' ? 'something went wrong' : 'ready'}
      </p>
      {error && <p className="error" data-testid="chat-error">{readableError(error)}</p>}
      {interrupted && lastRunId && <StoredRun runId={lastRunId} />}
      <form className="composer" onSubmit={send}>
        <input data-testid="question-input" placeholder="Ask about this service…" value={question}
               onChange={(event) => setQuestion(event.target.value)} />
        {busy
          ? <button type="button" data-testid="stop" onClick={stopAnswer}>Stop</button>
          : <button type="submit" data-testid="send" disabled={!question.trim()}>Send</button>}
        {interrupted && messages.length > 0 && <button type="button" data-testid="retry" onClick={retry}>Retry</button>}
      </form>
    </main>
  );
}
