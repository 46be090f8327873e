import { useEffect, useState } from 'react';
import Chat from './Chat.jsx';
import ChatList from './ChatList.jsx';
import SignIn from './SignIn.jsx';
import { accessToken, signOut } from './session.js';
import { currentChatId, forgetChat, openChat, startNewChat } from './storage.js';

/** Asks the gateway whether sign-in is needed, then shows the sign-in form or the chat. */
export default function App() {
  const [config, setConfig] = useState(null);
  const [configError, setConfigError] = useState(null);
  const [token, setToken] = useState(accessToken());
  const [chatId, setChatId] = useState(currentChatId());
  // Bumped when an answer ends, so the list shows the chat's new place and title.
  const [answered, setAnswered] = useState(0);

  useEffect(() => {
    fetch('/api/config')
      .then((response) => (response.ok ? response.json() : Promise.reject(new Error(`GET /api/config: ${response.status}`))))
      .then(setConfig, setConfigError);
  }, []);

  const leave = () => {
    signOut();
    setToken(null);
  };

  return (
    <div className="page">
      <header>
        <h1>pgflow chat</h1>
        {config && (!config.authEnabled || token) && (
          <nav>
            <button type="button" data-testid="new-chat" onClick={() => setChatId(startNewChat())}>New chat</button>
            {config.authEnabled && <button type="button" data-testid="sign-out" onClick={leave}>Sign out</button>}
          </nav>
        )}
      </header>
      {configError && <p className="error" data-testid="config-error">{configError.message}</p>}
      {config && config.authEnabled && !token && <SignIn config={config} onSignedIn={setToken} />}
      {config && (!config.authEnabled || token) && (
        <div className="workspace">
          <ChatList key={token ?? ''} currentChatId={chatId} refreshKey={answered}
                    onOpen={(id) => setChatId(openChat(id))}
                    onDeleted={(id) => {
                      forgetChat(id);
                      if (id === chatId) {
                        setChatId(startNewChat());
                      }
                    }} />
          <Chat key={`${chatId}:${token ?? ''}`} chatId={chatId} onUnauthorized={leave}
                onAnswered={() => setAnswered((count) => count + 1)} />
        </div>
      )}
    </div>
  );
}
