package io.github.pgflowchat.web;

import org.apache.coyote.http11.Http11NioProtocol;

/**
 * Tomcat's NIO HTTP/1.1 protocol whose responses get a body buffer of the given size instead of Tomcat's 8 KiB (a
 * {@code byte[]} and a {@code char[]} of that many elements, kept by each connection's response object).
 * {@link org.apache.catalina.connector.Connector#createResponse} asks the protocol for it; Tomcat's HTTP/1.1 protocol
 * has no setting of its own for it.
 */
public class CompactHttp11NioProtocol extends Http11NioProtocol {

    private int responseBufferSize = -1;

    /** Bytes of each response's body buffer; -1 for Tomcat's default (8192). */
    public void setResponseBufferSize(int responseBufferSize) {
        if (responseBufferSize != -1 && responseBufferSize < 256) {
            throw new IllegalArgumentException("gateway.http.response-buffer-bytes must be at least 256, not " + responseBufferSize);
        }
        this.responseBufferSize = responseBufferSize;
    }

    @Override
    public int getDesiredBufferSize() {
        return responseBufferSize;
    }
}
