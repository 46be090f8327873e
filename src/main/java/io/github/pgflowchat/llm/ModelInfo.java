package io.github.pgflowchat.llm;

/** Which model answers, as told to clients (stream metadata) and stored with each answer. */
public record ModelInfo(String provider, String model) {

    public String describe() {
        return provider + ":" + model;
    }
}
