package io.github.pgflowchat.web;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Collectors;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.web.filter.OncePerRequestFilter;

/**
 * Bounds every request body before anything else reads it. platform-http copies a body into memory whole before the
 * route runs (docs/decisions/0010), so a limit checked in a route comes too late: a declared Content-Length over the
 * path's limit is refused at once, and a body without one (chunked) is read here up to the limit and refused as soon
 * as it passes it. The rest of a refused body is never read into memory; the container drops it with the connection.
 */
public class RequestBodyLimitFilter extends OncePerRequestFilter {

    private final Map<String, Integer> limitByPath;
    private final int otherLimit;
    private final ApiErrors errors;

    /**
     * @param limitByPath limits of the paths that take a body, in bytes
     * @param otherLimit  limit of every other path
     */
    public RequestBodyLimitFilter(Map<String, Long> limitByPath, long otherLimit, ApiErrors errors) {
        this.limitByPath = limitByPath.entrySet().stream()
                .collect(Collectors.toUnmodifiableMap(Map.Entry::getKey, e -> positiveInt(e.getValue())));
        this.otherLimit = positiveInt(otherLimit);
        this.errors = errors;
    }

    private static int positiveInt(long limit) {
        if (limit <= 0 || limit > Integer.MAX_VALUE - 1) {
            throw new IllegalArgumentException("a request body limit must be between 1 byte and 2 GiB, not " + limit);
        }
        return (int) limit;
    }

    int limitFor(HttpServletRequest request) {
        String path = request.getServletPath() + Objects.toString(request.getPathInfo(), "");
        return limitByPath.getOrDefault(path, otherLimit);
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        int limit = limitFor(request);
        long declared = request.getContentLengthLong();
        if (declared > limit) {
            refuse(response, limit);
        } else if (declared >= 0 || request.getHeader("Transfer-Encoding") == null) {
            // The container reads no more than the declared length; without a length or a transfer coding there is no body.
            chain.doFilter(request, response);
        } else {
            byte[] body = request.getInputStream().readNBytes(limit + 1);
            if (body.length > limit) {
                refuse(response, limit);
            } else {
                // Whoever reads next may ask for a reader instead of the stream, which the container would refuse now.
                chain.doFilter(new ReadBodyRequest(request, body), response);
            }
        }
    }

    private void refuse(HttpServletResponse response, int limit) throws IOException {
        errors.write(new ApiException(413, "body_too_large", "The request body is larger than " + limit
                + " bytes, the most this path accepts."), response);
    }

    /** The request with the body already read (within the limit), served to whoever reads it next. */
    private static final class ReadBodyRequest extends HttpServletRequestWrapper {

        private final byte[] body;

        ReadBodyRequest(HttpServletRequest request, byte[] body) {
            super(request);
            this.body = body;
        }

        @Override
        public int getContentLength() {
            return body.length;
        }

        @Override
        public long getContentLengthLong() {
            return body.length;
        }

        @Override
        public ServletInputStream getInputStream() {
            ByteArrayInputStream in = new ByteArrayInputStream(body);
            return new ServletInputStream() {
                @Override
                public int read() {
                    return in.read();
                }

                @Override
                public int read(byte[] buffer, int offset, int length) {
                    return in.read(buffer, offset, length);
                }

                @Override
                public boolean isFinished() {
                    return in.available() == 0;
                }

                @Override
                public boolean isReady() {
                    return true;
                }

                @Override
                public void setReadListener(ReadListener listener) {
                    throw new UnsupportedOperationException("the body was read before the request reached its handler");
                }
            };
        }

        @Override
        public BufferedReader getReader() {
            Charset charset = getCharacterEncoding() == null ? StandardCharsets.UTF_8 : Charset.forName(getCharacterEncoding());
            return new BufferedReader(new InputStreamReader(getInputStream(), charset));
        }
    }
}
