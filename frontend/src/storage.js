import { generateId } from 'ai';

// The current chat survives a reload: its id (so useChat can resume its stream) and a copy of its messages, shown at
// once while the server's copy (GET /api/chats/{chatId}, the conversation as stored) is fetched.
const CURRENT_KEY = 'pgflow-chat:current-chat';
const messagesKey = (chatId) => `pgflow-chat:messages:${chatId}`;

function newChatId() {
  return `chat-${generateId()}`;
}

export function currentChatId() {
  let chatId = localStorage.getItem(CURRENT_KEY);
  if (!chatId) {
    chatId = newChatId();
    localStorage.setItem(CURRENT_KEY, chatId);
  }
  return chatId;
}

export function startNewChat() {
  const chatId = newChatId();
  localStorage.setItem(CURRENT_KEY, chatId);
  return chatId;
}

export function openChat(chatId) {
  localStorage.setItem(CURRENT_KEY, chatId);
  return chatId;
}

export function forgetChat(chatId) {
  localStorage.removeItem(messagesKey(chatId));
}

export function loadMessages(chatId) {
  try {
    return JSON.parse(localStorage.getItem(messagesKey(chatId))) ?? [];
  } catch {
    return [];
  }
}

export function saveMessages(chatId, messages) {
  localStorage.setItem(messagesKey(chatId), JSON.stringify(messages));
}
