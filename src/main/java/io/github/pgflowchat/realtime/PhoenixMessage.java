package io.github.pgflowchat.realtime;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One Phoenix channels message. {@code joinRef} names the channel join a message belongs to, {@code ref} pairs a push
 * with its {@code phx_reply}; server broadcasts carry neither.
 */
public record PhoenixMessage(String joinRef, String ref, String topic, String event, JsonNode payload) {

    public static final String JOIN = "phx_join";
    public static final String LEAVE = "phx_leave";
    public static final String REPLY = "phx_reply";
    public static final String ERROR = "phx_error";
    public static final String CLOSE = "phx_close";
    public static final String HEARTBEAT = "heartbeat";
    public static final String ACCESS_TOKEN = "access_token";
    public static final String BROADCAST = "broadcast";
    public static final String SYSTEM = "system";
    public static final String PHOENIX_TOPIC = "phoenix";
}
