package io.github.pgflowchat.documents;

import com.github.benmanes.caffeine.cache.Ticker;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.auth.Caller;
import io.github.pgflowchat.web.ApiException;
import io.github.pgflowchat.web.PerCallerRate;

/**
 * Who may change the corpus every user's answers are drawn from: a document replaces all earlier sections of its
 * source and ranks in everyone's search, so writes are for the write role only (403 otherwise), at a bounded rate
 * per caller ({@link PerCallerRate}, per instance; 429 with Retry-After). Checked before the body is read.
 */
@Component("documentWrites")
public class DocumentWrites {

    /**
     * @param role      the role ({@code role} or {@code app_metadata.role} claim) a token needs to write documents
     * @param perMinute document writes one caller may make per minute (bursts up to that many)
     */
    @ConfigurationProperties("gateway.documents.writes")
    public record Properties(String role, int perMinute) {
    }

    private final Properties properties;
    private final Caller caller;
    /** Only callers holding the write role are counted. */
    private final PerCallerRate writeRate;

    public DocumentWrites(Properties properties, Caller caller) {
        this.properties = properties;
        this.caller = caller;
        this.writeRate = new PerCallerRate(properties.perMinute(), "document writes", Ticker.systemTicker());
    }

    public void admit() {
        if (!caller.hasRole(properties.role())) {
            throw new ApiException(403, "forbidden", "Only tokens whose role (or app_metadata.role) is '" + properties.role()
                    + "' may change documents.");
        }
        writeRate.take(caller.userId());
    }
}
