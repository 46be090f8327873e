package io.github.pgflowchat.documents;

import com.github.benmanes.caffeine.cache.Ticker;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.auth.Caller;
import io.github.pgflowchat.limits.Limits;
import io.github.pgflowchat.web.PerCallerRate;

/**
 * How often one caller may change the corpus every user's answers are drawn from: a document replaces all earlier
 * sections of its source and ranks in everyone's search. Only the write role gets this far (the security chain
 * refuses anyone else with 403 before the body is read, see {@code SecurityConfiguration}); its writes are bounded per
 * caller ({@link PerCallerRate}, counted across instances like every limit of {@link Limits}; 429 with Retry-After).
 */
@Component("documentWrites")
public class DocumentWrites {

    /**
     * {@code gateway.documents.writes.role}, the role a token needs, is read by the security chain.
     *
     * @param perMinute document writes one caller may make per minute (bursts up to that many)
     */
    @ConfigurationProperties("gateway.documents.writes")
    public record Properties(int perMinute) {
    }

    private final Caller caller;
    private final PerCallerRate writeRate;

    public DocumentWrites(Properties properties, Caller caller, Limits limits) {
        this.caller = caller;
        this.writeRate = limits.rate("documents", properties.perMinute(), "document writes", Ticker.systemTicker());
    }

    public void admit() {
        writeRate.take(caller.userId());
    }
}
