package io.github.pgflowchat.retention;

import static org.assertj.core.api.Assertions.assertThatNoException;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import org.junit.jupiter.api.Test;

/** Settings that would delete what must be kept, or loop for ever, stop the start-up with the setting's name. */
class RetentionSettingsTest {

    private static DataRetention retention(Duration runs, Duration deadWorkers, int batchSize, Duration events) {
        return new DataRetention(null, new RetentionProperties(runs, deadWorkers, Duration.ofHours(1), batchSize), events, "chat_pipeline");
    }

    @Test
    void theDefaultsAndZeroRunRetentionAreAccepted() {
        assertThatNoException().isThrownBy(() -> retention(Duration.ofDays(30), Duration.ofDays(1), 1000, Duration.ofDays(3)));
        assertThatNoException().isThrownBy(() -> retention(Duration.ZERO, Duration.ofDays(1), 1000, Duration.ofDays(3)));
    }

    @Test
    void settingsThatWouldDeleteLiveDataOrNeverEndAreRefused() {
        assertThatThrownBy(() -> retention(Duration.ofDays(-1), Duration.ofDays(1), 1000, Duration.ofDays(3))).hasMessageContaining("RUN_RETENTION");
        assertThatThrownBy(() -> retention(Duration.ofDays(30), Duration.ofSeconds(30), 1000, Duration.ofDays(3))).hasMessageContaining("WORKER_ROW_RETENTION");
        assertThatThrownBy(() -> retention(Duration.ofDays(30), Duration.ofDays(1), 0, Duration.ofDays(3))).hasMessageContaining("batch-size");
        assertThatThrownBy(() -> retention(Duration.ofDays(30), Duration.ofDays(1), 1000, Duration.ZERO)).hasMessageContaining("EVENTS_RETENTION");
    }
}
