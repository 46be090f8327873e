package io.github.pgflowchat.logging;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LogSafeTest {

    @Test
    void lineBreaksOfEveryKindAreEscapedSoNoTextCanStartALineOfItsOwn() {
        String forged = "ok\n2026-01-01 ERROR forged\r\nx\u2028y\u2029z\u0085w";

        String safe = LogSafe.prefix(forged, 100);

        assertThat(safe).isEqualTo("ok\\n2026-01-01 ERROR forged\\r\\nx\\u2028y\\u2029z\\u0085w");
        assertThat(safe.lines()).hasSize(1);
    }

    @Test
    void terminalEscapesBidiOverridesAndLoneSurrogatesAreEscaped() {
        assertThat(LogSafe.prefix("\u001b[31mred\u001b[0m", 100)).isEqualTo("\\u001b[31mred\\u001b[0m");
        assertThat(LogSafe.prefix("a\u202eb\u2066c", 100)).isEqualTo("a\\u202eb\\u2066c");
        assertThat(LogSafe.prefix("a\ud800b\udc00", 100)).isEqualTo("a\\ud800b\\udc00");
        assertThat(LogSafe.prefix("tab\tand \\n literal", 100)).as("a literal backslash-n stays distinguishable")
                .isEqualTo("tab\\tand \\\\n literal");
    }

    @Test
    void longTextIsCutToThePrefixWithItsLengthAndPairsAreNeverSplit() {
        assertThat(LogSafe.prefix("abcdefghij", 4)).isEqualTo("abcd… (10 chars)");
        assertThat(LogSafe.prefix("abc\uD83D\uDE00def", 4)).as("an emoji is one code point").isEqualTo("abc\uD83D\uDE00… (8 chars)");
        assertThat(LogSafe.prefix("short", 80)).isEqualTo("short");
        assertThat(LogSafe.prefix(null, 80)).isEqualTo("(none)");
        assertThat(LogSafe.prefix("x".repeat(500))).startsWith("x".repeat(LogSafe.PREFIX) + "…");
    }
}
