// The signed-in user's Supabase access token, kept across reloads so a resumed stream is sent as the same user.
const TOKEN_KEY = 'pgflow-chat:access-token';

export function accessToken() {
  return localStorage.getItem(TOKEN_KEY);
}

export function signIn(token) {
  localStorage.setItem(TOKEN_KEY, token);
}

export function signOut() {
  localStorage.removeItem(TOKEN_KEY);
}

export function authHeaders() {
  const token = accessToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** fetch against the gateway with the caller's token, if any. */
export function apiFetch(path, init = {}) {
  return fetch(path, { ...init, headers: { ...authHeaders(), ...init.headers } });
}

/** Email and password sign-in with the Supabase project's own Auth (GoTrue) endpoint; resolves to the access token. */
export async function signInWithPassword(supabaseUrl, anonKey, email, password) {
  const response = await fetch(`${supabaseUrl}/auth/v1/token?grant_type=password`, {
    method: 'POST',
    headers: { apikey: anonKey, 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.access_token) {
    throw new Error(body.error_description || body.msg || body.message || `Sign-in failed (${response.status})`);
  }
  return body.access_token;
}
