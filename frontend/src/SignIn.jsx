import { useState } from 'react';
import { signIn, signInWithPassword } from './session.js';

/**
 * Shown when the gateway requires Supabase Auth: paste an access token, or, when the gateway names its Supabase
 * project, sign in there with email and password.
 */
export default function SignIn({ config, onSignedIn }) {
  const [pasted, setPasted] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState(null);

  const accept = (token) => {
    signIn(token);
    onSignedIn(token);
  };

  const withPassword = async (event) => {
    event.preventDefault();
    setError(null);
    try {
      accept(await signInWithPassword(config.supabaseUrl, config.supabaseAnonKey, email, password));
    } catch (failure) {
      setError(failure.message);
    }
  };

  return (
    <section className="sign-in" data-testid="sign-in">
      <h2>Sign in</h2>
      <form onSubmit={(event) => { event.preventDefault(); accept(pasted.trim()); }}>
        <label>
          Supabase access token (JWT)
          <textarea data-testid="token-input" rows={3} value={pasted} onChange={(event) => setPasted(event.target.value)} />
        </label>
        <button type="submit" data-testid="use-token" disabled={!pasted.trim()}>Use this token</button>
      </form>
      {config.supabaseUrl && config.supabaseAnonKey && (
        <form onSubmit={withPassword}>
          <p>or sign in to {config.supabaseUrl}</p>
          <input type="email" placeholder="email" autoComplete="username" value={email} onChange={(event) => setEmail(event.target.value)} />
          <input type="password" placeholder="password" autoComplete="current-password" value={password}
                 onChange={(event) => setPassword(event.target.value)} />
          <button type="submit" disabled={!email || !password}>Sign in</button>
        </form>
      )}
      {error && <p className="error">{error}</p>}
    </section>
  );
}
