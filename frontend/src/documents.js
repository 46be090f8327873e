import { accessToken, apiFetch } from './session.js';

/**
 * Opens a cited source. Without authentication the link works as it is; with it, a plain link would carry no
 * token, so the text is fetched with the caller's token and opened from memory.
 */
export async function openDocument(event, documentId) {
  if (!accessToken()) {
    return;
  }
  event.preventDefault();
  const opened = window.open('', '_blank');
  const response = await apiFetch(`/api/documents/${documentId}`);
  const text = await response.text();
  opened.location = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
}
