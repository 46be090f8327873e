package io.github.pgflowchat.chat;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.chat.ChatRequest.ChatTurn;
import io.github.pgflowchat.logging.LogSafe;
import io.github.pgflowchat.web.ApiException;

/**
 * A user's chats and their UIMessages in PostgreSQL ({@code gateway_chats}, {@code gateway_chat_messages}): the
 * question is stored when its request is accepted, the answer when its stream ends. The model's history comes from
 * here, so a client may send only the new message. Every read and write names the user: a chat id of another user is
 * not found.
 */
@Component("chatStore")
public class ChatStore {

    private static final Logger log = LoggerFactory.getLogger(ChatStore.class);
    private static final int MAX_TITLE_CHARS = 100;
    /** Chats one listing returns at most, newest first. */
    private static final int MAX_LISTED = 200;
    private static final String CHAT_COLUMNS = "chat_id, title, created_at, updated_at";

    private final JdbcTemplate jdbc;
    private final ObjectMapper json;

    public ChatStore(JdbcTemplate jdbc, ObjectMapper json) {
        this.jdbc = jdbc;
        this.json = json;
    }

    /**
     * Stores the question of an accepted request and returns the conversation before it, oldest first, as text
     * turns. A question whose message id is stored already (an edit, a regenerate) replaces that message, and what
     * followed it is removed, as useChat does on the client. A chat with nothing stored yet (its first message, or a
     * conversation the browser kept before the server did) takes its history from the request.
     */
    public List<ChatTurn> recordQuestion(String userId, ChatRequest request) {
        String messageId = request.question().id() != null ? request.question().id() : UUID.randomUUID().toString();
        String message = toJson(request.questionMessage(), messageId);
        // One round trip (migration *_chat_record_question.sql): upsert of the chat, an edit's truncation, the history, the insert.
        return jdbc.query("select any_stored, message_ids, roles, texts from public.gateway_record_question(?, ?, ?, ?, ?::jsonb, ?)",
                rs -> {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        return request.history();
                    }
                    String[] ids = (String[]) rs.getArray(2).getArray();
                    String[] roles = (String[]) rs.getArray(3).getArray();
                    String[] texts = (String[]) rs.getArray(4).getArray();
                    List<ChatTurn> stored = new ArrayList<>(ids.length);
                    for (int i = 0; i < ids.length; i++) {
                        stored.add(new ChatTurn(ids[i], roles[i], texts[i]));
                    }
                    return stored;
                }, userId, request.chatId(), title(request.question().text()), messageId, message, ChatRequestParser.MAX_HISTORY_TURNS);
    }

    /**
     * Stores the answer as its stream ended (finished, stopped or failed): the UIMessage a client that read the whole
     * stream holds. The answer of a retry ({@code retryOf}: the failed run) replaces that run's answer. A failure to store is logged, not thrown: the stream's end must not fail with it, and the answer
     * stays in the run's output.
     */
    public void recordAnswer(ChatStream stream, UUID retryOf) {
        Map<String, Object> message = stream.message();
        try {
            if (retryOf != null) {
                // useChat's regenerate drops the failed answer on the client: so does the store.
                jdbc.update("delete from public.gateway_chat_messages where user_id = ? and chat_id = ? and run_id = ? and role = 'assistant'",
                        stream.userId(), stream.chatId(), retryOf);
            }
            // One statement: the chat's update stamps it and, when the chat was deleted meanwhile, leaves no row to insert from.
            jdbc.update("""
                    with chat as (
                        update public.gateway_chats set updated_at = now() where user_id = ? and chat_id = ? returning user_id, chat_id)
                    insert into public.gateway_chat_messages (user_id, chat_id, message_id, role, message, run_id)
                    select chat.user_id, chat.chat_id, ?, 'assistant', ?::jsonb, ? from chat
                    on conflict (user_id, chat_id, message_id) do update set message = excluded.message, run_id = excluded.run_id
                    """, stream.userId(), stream.chatId(), stream.messageId(), json.writeValueAsString(message), stream.runId());
        } catch (DataAccessException | JsonProcessingException e) {
            log.warn("the answer of run {} (chat {}) was not stored in its conversation: {}; GET /api/runs/{} still has it", stream.runId(),
                    LogSafe.prefix(stream.chatId()), LogSafe.prefix(e.getMessage(), 200), stream.runId());
        }
    }

    /** {@code {"chats": [...]}}: the caller's chats, newest first. */
    public Map<String, Object> listed(String userId) {
        return Map.of("chats", list(userId));
    }

    /** The caller's chats, newest first: id, title, createdAt, updatedAt. */
    public List<Map<String, Object>> list(String userId) {
        return jdbc.query("select " + CHAT_COLUMNS + " from public.gateway_chats where user_id = ? order by updated_at desc, chat_id limit ?",
                ChatStore::chat, userId, MAX_LISTED);
    }

    /** The chat with its UIMessages in order, as useChat takes them ({@code messages}); 404 if the caller has none of that id. */
    public Map<String, Object> get(String userId, String chatId) {
        List<Map<String, Object>> chat = list(userId, chatId);
        List<JsonNode> messages = new ArrayList<>();
        jdbc.query("select message from public.gateway_chat_messages where user_id = ? and chat_id = ? order by position",
                row -> {
                    messages.add(parse(row.getString(1)));
                }, userId, chatId);
        Map<String, Object> result = new LinkedHashMap<>(chat.get(0));
        result.put("messages", messages);
        return result;
    }

    /** Deletes the caller's chat and its messages; 404 if the caller has none of that id. */
    public void delete(String userId, String chatId) {
        if (jdbc.update("delete from public.gateway_chats where user_id = ? and chat_id = ?", userId, chatId) == 0) {
            throw notFound(chatId);
        }
    }

    private List<Map<String, Object>> list(String userId, String chatId) {
        List<Map<String, Object>> chat = jdbc.query("select " + CHAT_COLUMNS + " from public.gateway_chats where user_id = ? and chat_id = ?",
                ChatStore::chat, userId, chatId);
        if (chat.isEmpty()) {
            throw notFound(chatId);
        }
        return chat;
    }

    private static Map<String, Object> chat(ResultSet row, int rowNumber) throws SQLException {
        Map<String, Object> chat = new LinkedHashMap<>();
        chat.put("id", row.getString(1));
        chat.put("title", row.getString(2));
        chat.put("createdAt", row.getObject(3, OffsetDateTime.class).toString());
        chat.put("updatedAt", row.getObject(4, OffsetDateTime.class).toString());
        return chat;
    }

    private static ApiException notFound(String chatId) {
        return ApiException.notFound("chat_not_found", "You have no chat " + LogSafe.prefix(chatId) + ".");
    }

    private static String title(String question) {
        String line = question.strip().replaceAll("\\s+", " ");
        return line.codePointCount(0, line.length()) <= MAX_TITLE_CHARS ? line
                : line.substring(0, line.offsetByCodePoints(0, MAX_TITLE_CHARS - 1)) + "…";
    }

    /** The message as sent, with the id it is stored under. */
    /**
     * Written by the application's ObjectMapper, not {@code JsonNode.toString()}: that one's writer keeps its buffers
     * in a thread-local of the request's thread, for as long as the chat's stream is open (issue 13).
     */
    private String toJson(JsonNode message, String messageId) {
        ObjectNode stored = message.deepCopy();
        stored.put("id", messageId);
        try {
            return json.writeValueAsString(stored);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed message cannot be written back as JSON", e);
        }
    }

    private JsonNode parse(String message) {
        try {
            return json.readTree(message);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a stored message is not JSON", e);
        }
    }
}
