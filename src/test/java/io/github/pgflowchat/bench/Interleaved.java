package io.github.pgflowchat.bench;

import java.util.ArrayList;
import java.util.List;

/**
 * Chats with baseline samples taken in between, one per step of each chat, so that the baseline and the measure see
 * the same moments of a noisy machine. Nothing from the warm-up chats and their samples is kept.
 */
final class Interleaved {

    interface RoundTrip {
        double millis() throws Exception;
    }

    interface Chat {
        /** Runs one chat; {@code measured} is false during the warm-up. */
        void run(String chatId, boolean measured) throws Exception;
    }

    private Interleaved() {
    }

    /** Returns the baseline samples taken after the warm-up. */
    static List<Double> run(String name, int warmUp, int chats, RoundTrip baseline, Chat chat) throws Exception {
        List<Double> samples = new ArrayList<>();
        for (int i = 0; i < warmUp + chats; i++) {
            boolean measured = i >= warmUp;
            for (int j = 0; j < Chats.STEPS.size(); j++) {
                double millis = baseline.millis();
                if (measured) {
                    samples.add(millis);
                }
            }
            chat.run(name + "-" + i, measured);
        }
        return samples;
    }
}
