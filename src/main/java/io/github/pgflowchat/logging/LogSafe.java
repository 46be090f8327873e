package io.github.pgflowchat.logging;

import org.springframework.stereotype.Component;

/**
 * Text a user or a model wrote, made fit for a log line: cut to a short prefix (logs are no store of questions and
 * answers, the database is) and with every character that could end the line or dress it up escaped, so such text can
 * never start a line of its own that passes for one the service wrote. A bean too, so a route's {@code log} can use it
 * ({@code ${bean:logSafe?method=prefix(...)}}).
 */
@Component("logSafe")
public final class LogSafe {

    /** Enough to recognise a text in a log; the full text, where kept, is in the database. */
    public static final int PREFIX = 80;

    /** At most {@code max} characters of {@code text}, escaped; a cut is marked with the full length. */
    public static String prefix(Object text, int max) {
        if (text == null) {
            return "(none)";
        }
        String value = text.toString();
        int end = value.length() <= max ? value.length() : value.offsetByCodePoints(0, value.codePointCount(0, max));
        StringBuilder safe = new StringBuilder(Math.min(value.length(), max) + 16);
        for (int i = 0; i < end; i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\n' -> safe.append("\\n");
                case '\r' -> safe.append("\\r");
                case '\t' -> safe.append("\\t");
                case '\\' -> safe.append("\\\\");
                default -> {
                    if (needsEscape(value, i)) {
                        safe.append(String.format("\\u%04x", (int) c));
                    } else {
                        safe.append(c);
                    }
                }
            }
        }
        if (end < value.length()) {
            safe.append("… (").append(value.length()).append(" chars)");
        }
        return safe.toString();
    }

    /** {@link #prefix(Object, int)} with the default length. */
    public static String prefix(Object text) {
        return prefix(text, PREFIX);
    }

    /**
     * Control characters (C0 with ESC, DEL, C1 with NEL), line and paragraph separators, bidirectional overrides and
     * isolates (which reorder what a terminal shows) and unpaired surrogates.
     */
    private static boolean needsEscape(String value, int i) {
        char c = value.charAt(i);
        if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || (c >= '\u202a' && c <= '\u202e')
                || (c >= '\u2066' && c <= '\u2069') || c == '\u200e' || c == '\u200f' || c == '\u061c') {
            return true;
        }
        if (Character.isHighSurrogate(c)) {
            return i + 1 >= value.length() || !Character.isLowSurrogate(value.charAt(i + 1));
        }
        return Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(value.charAt(i - 1)));
    }
}
