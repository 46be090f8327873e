package io.github.pgflowchat.bench;

import java.lang.management.ManagementFactory;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

import javax.management.ObjectName;

/** The live heap by class (the JVM's GC.class_histogram, which collects first), to say what a heap difference is made of. */
final class HeapHistogram {

    private final Map<String, Long> bytesByClass;

    private HeapHistogram(Map<String, Long> bytesByClass) {
        this.bytesByClass = bytesByClass;
    }

    static HeapHistogram take() throws Exception {
        String histogram = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                new Object[] {new String[0]}, new String[] {String[].class.getName()});
        return parse(histogram);
    }

    /** The text of GC.class_histogram, from this JVM or from jcmd on another. */
    static HeapHistogram parse(String histogram) {
        Map<String, Long> bytes = new HashMap<>();
        for (String line : histogram.split("\n")) {
            // "   1:        123456       7890123  byte[] (java.base@17.0.15)"
            String[] fields = line.trim().split("\\s+");
            if (fields.length >= 4 && fields[0].endsWith(":")) {
                bytes.merge(fields[3], Long.parseLong(fields[2]), Long::sum);
            }
        }
        return new HeapHistogram(bytes);
    }

    /** The classes that grew most since {@code before}, as "class +KiB per stream". */
    String largestGrowth(HeapHistogram before, int classes, int streams) {
        return bytesByClass.entrySet().stream()
                .map(e -> Map.entry(e.getKey(), e.getValue() - before.bytesByClass.getOrDefault(e.getKey(), 0L)))
                .sorted(Map.Entry.<String, Long>comparingByValue(Comparator.reverseOrder()))
                .limit(classes)
                .map(e -> String.format(Locale.ROOT, "%s %+.1f", e.getKey(), e.getValue() / 1024.0 / streams))
                .collect(Collectors.joining(", "));
    }
}
