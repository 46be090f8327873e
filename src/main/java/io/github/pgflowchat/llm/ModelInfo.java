package io.github.pgflowchat.llm;

/** Which models answer and analyse, as told to clients (stream metadata) and stored with each step's output. */
public record ModelInfo(String provider, String model, String analysisModel) {

    public String describe() {
        return provider + ":" + model;
    }

    public String describeAnalysis() {
        return provider + ":" + analysisModel;
    }
}
