import { useEffect, useState } from 'react';
import { apiFetch } from './session.js';

/** The caller's chats as the server keeps them (GET /api/chats), newest first; a click opens one. */
export default function ChatList({ currentChatId, refreshKey, onOpen, onDeleted }) {
  const [chats, setChats] = useState([]);
  const [error, setError] = useState(null);

  useEffect(() => {
    let cancelled = false;
    apiFetch('/api/chats')
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(`GET /api/chats: ${response.status}`))))
      .then((body) => !cancelled && (setChats(body.chats), setError(null)), (failure) => !cancelled && setError(failure.message));
    return () => {
      cancelled = true;
    };
  }, [currentChatId, refreshKey]);

  const remove = async (chatId) => {
    const response = await apiFetch(`/api/chats/${encodeURIComponent(chatId)}`, { method: 'DELETE' });
    if (response.ok || response.status === 404) {
      setChats((listed) => listed.filter((chat) => chat.id !== chatId));
      onDeleted(chatId);
    }
  };

  return (
    <aside className="chat-list">
      {error && <p className="error" data-testid="chat-list-error">{error}</p>}
      <ol data-testid="chat-list">
        {chats.map((chat) => (
          <li key={chat.id} data-testid="chat-list-item" data-chat-id={chat.id}
              className={chat.id === currentChatId ? 'current' : undefined}>
            <button type="button" className="open" onClick={() => onOpen(chat.id)} title={chat.updatedAt}>{chat.title}</button>
            <button type="button" className="delete" data-testid="delete-chat" aria-label={`Delete ${chat.title}`}
                    onClick={() => remove(chat.id)}>×</button>
          </li>
        ))}
      </ol>
    </aside>
  );
}
