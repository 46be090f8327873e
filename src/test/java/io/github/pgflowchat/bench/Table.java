package io.github.pgflowchat.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** One scenario's result as printed for BENCHMARKS.md: notes, then a row per measure against its baseline and target. */
final class Table {

    private final String title;
    private final List<String> notes = new ArrayList<>();
    private final List<String> rows = new ArrayList<>();

    Table(String title) {
        this.title = title;
    }

    Table note(String format, Object... args) {
        notes.add(String.format(Locale.ROOT, format, args));
        return this;
    }

    /** {@code met} is null for a measure without a target. */
    Table row(String measure, String baseline, String measured, String difference, String target, Boolean met) {
        rows.add(String.join(" | ", measure, baseline, measured, difference, target, met == null ? "" : met ? "met" : "**not met**"));
        return this;
    }

    String markdown() {
        StringBuilder text = new StringBuilder("### ").append(title).append("\n\n");
        notes.forEach(note -> text.append(note).append('\n'));
        text.append("\n| measure | baseline | measured | difference | target | |\n| --- | --- | --- | --- | --- | --- |\n");
        rows.forEach(row -> text.append("| ").append(row).append(" |\n"));
        return text.toString();
    }

    static double percentile(Collection<Double> values, double p) {
        List<Double> sorted = new ArrayList<>(values);
        Collections.sort(sorted);
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, (int) Math.ceil(p / 100 * sorted.size()) - 1)));
    }

    static String ms(double millis) {
        return String.format(Locale.ROOT, millis < 10 ? "%.2f ms" : "%.1f ms", millis);
    }

    static String plusMs(double millis) {
        return String.format(Locale.ROOT, Math.abs(millis) < 10 ? "%+.2f ms" : "%+.1f ms", millis);
    }

    static String times(double ratio) {
        return String.format(Locale.ROOT, "× %.2f", ratio);
    }
}
