package io.github.pgflowchat.realtime;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The two framings Supabase Realtime speaks. {@code 1.0.0}: every frame is a JSON object
 * {@code {"topic","event","payload","ref","join_ref"}}. {@code 2.0.0}: text frames are JSON arrays
 * {@code [join_ref, ref, topic, event, payload]}, and broadcasts may come as binary frames; the server sends user
 * broadcasts as kind 4 ({@code u8 4 | u8 topic_len | u8 event_len | u8 meta_len | u8 encoding | topic | event | meta |
 * payload}), which this client turns into the same {@code broadcast} message a text frame would carry.
 */
public final class PhoenixSerializer {

    public static final String V1 = "1.0.0";
    public static final String V2 = "2.0.0";

    private static final int KIND_USER_BROADCAST = 4;
    private static final int ENCODING_JSON = 1;

    private final String vsn;
    private final ObjectMapper json;

    public PhoenixSerializer(String vsn, ObjectMapper json) {
        if (!V1.equals(vsn) && !V2.equals(vsn)) {
            throw new IllegalArgumentException("Realtime protocol version must be " + V1 + " or " + V2 + ", not " + vsn);
        }
        this.vsn = vsn;
        this.json = json;
    }

    public String vsn() {
        return vsn;
    }

    public String encode(PhoenixMessage message) {
        try {
            if (V1.equals(vsn)) {
                ObjectNode frame = json.createObjectNode();
                frame.put("topic", message.topic());
                frame.put("event", message.event());
                frame.set("payload", message.payload());
                frame.put("ref", message.ref());
                frame.put("join_ref", message.joinRef());
                return json.writeValueAsString(frame);
            }
            ArrayNode frame = json.createArrayNode();
            frame.add(message.joinRef());
            frame.add(message.ref());
            frame.add(message.topic());
            frame.add(message.event());
            frame.add(message.payload());
            return json.writeValueAsString(frame);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("cannot encode " + message, e);
        }
    }

    public PhoenixMessage decode(String text) {
        JsonNode frame = readJson(text);
        if (frame.isArray() && frame.size() == 5) {
            return new PhoenixMessage(textOrNull(frame.get(0)), textOrNull(frame.get(1)), frame.get(2).asText(),
                    frame.get(3).asText(), frame.get(4));
        }
        if (frame.isObject()) {
            return new PhoenixMessage(textOrNull(frame.get("join_ref")), textOrNull(frame.get("ref")),
                    frame.path("topic").asText(), frame.path("event").asText(), frame.path("payload"));
        }
        throw new IllegalArgumentException("not a Phoenix frame: " + abbreviate(text));
    }

    /** A binary frame; the server sends broadcasts as kind 4 (user broadcast), the only kind a client receives. */
    public PhoenixMessage decode(byte[] frame) {
        if (frame.length == 0) {
            throw new IllegalArgumentException("empty binary frame");
        }
        int kind = frame[0] & 0xff;
        if (kind == KIND_USER_BROADCAST) {
            int topicLength = frame[1] & 0xff;
            int eventLength = frame[2] & 0xff;
            int metaLength = frame[3] & 0xff;
            int encoding = frame[4] & 0xff;
            int at = 5;
            String topic = new String(frame, at, topicLength, StandardCharsets.UTF_8);
            at += topicLength;
            String event = new String(frame, at, eventLength, StandardCharsets.UTF_8);
            at += eventLength;
            JsonNode meta = metaLength == 0 ? null : readJson(new String(frame, at, metaLength, StandardCharsets.UTF_8));
            at += metaLength;
            String body = new String(frame, at, frame.length - at, StandardCharsets.UTF_8);
            ObjectNode payload = json.createObjectNode();
            payload.put("type", PhoenixMessage.BROADCAST);
            payload.put("event", event);
            payload.set("payload", encoding == ENCODING_JSON ? readJson(body) : json.getNodeFactory().textNode(body));
            if (meta != null) {
                payload.set("meta", meta);
            }
            return new PhoenixMessage(null, null, topic, PhoenixMessage.BROADCAST, payload);
        }
        throw new IllegalArgumentException("unsupported binary frame kind " + kind);
    }

    /** The kind-4 frame a server sends for a broadcast (used by tests that play the server). */
    public byte[] encodeUserBroadcast(String topic, String event, JsonNode meta, JsonNode payload) {
        byte[] topicBytes = topic.getBytes(StandardCharsets.UTF_8);
        byte[] eventBytes = event.getBytes(StandardCharsets.UTF_8);
        byte[] metaBytes = meta == null ? new byte[0] : meta.toString().getBytes(StandardCharsets.UTF_8);
        byte[] payloadBytes = payload.toString().getBytes(StandardCharsets.UTF_8);
        if (topicBytes.length > 255 || eventBytes.length > 255 || metaBytes.length > 255) {
            throw new IllegalArgumentException("topic, event and meta must each be at most 255 bytes");
        }
        ByteArrayOutputStream frame = new ByteArrayOutputStream();
        frame.write(KIND_USER_BROADCAST);
        frame.write(topicBytes.length);
        frame.write(eventBytes.length);
        frame.write(metaBytes.length);
        frame.write(ENCODING_JSON);
        frame.writeBytes(topicBytes);
        frame.writeBytes(eventBytes);
        frame.writeBytes(metaBytes);
        frame.writeBytes(payloadBytes);
        return frame.toByteArray();
    }

    private JsonNode readJson(String text) {
        try {
            return json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not JSON: " + abbreviate(text), e);
        }
    }

    private static String textOrNull(JsonNode node) {
        return node == null || node.isNull() ? null : node.asText();
    }

    private static String abbreviate(String text) {
        return text.length() > 200 ? text.substring(0, 200) + "…" : text;
    }
}
