package io.github.pgflowchat.web;

import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.catalina.core.StandardHost;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.security.SecurityProperties;
import org.springframework.boot.web.embedded.tomcat.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The servlet filters in front of every route, and the container's own error answers. Both filters come right after
 * Spring Security's chain, which reads no body: a caller it refuses (no token, the wrong role, a foreign Host) gets
 * its answer before a byte of the body is read, and what these filters answer carries the CORS headers of the chain.
 */
@Configuration(proxyBeanMethods = false)
class HttpConfiguration {

    @Bean
    FilterRegistrationBean<RoutesStartedFilter> routesStartedFilter(ObjectProvider<CamelContext> camel, ApiErrors errors) {
        FilterRegistrationBean<RoutesStartedFilter> registration = new FilterRegistrationBean<>(new RoutesStartedFilter(camel, errors));
        registration.setOrder(SecurityProperties.DEFAULT_FILTER_ORDER + 1);
        return registration;
    }

    @Bean
    FilterRegistrationBean<RequestBodyLimitFilter> requestBodyLimitFilter(ApiErrors errors,
            @Value("${gateway.chat.limits.max-body-bytes}") long chat,
            @Value("${gateway.documents.max-body-bytes}") long documents,
            @Value("${gateway.http.max-body-bytes}") long other) {
        FilterRegistrationBean<RequestBodyLimitFilter> registration = new FilterRegistrationBean<>(
                new RequestBodyLimitFilter(Map.of("/api/chat", chat, "/api/documents", documents), other, errors));
        registration.setOrder(SecurityProperties.DEFAULT_FILTER_ORDER + 2);
        return registration;
    }

    /**
     * Smaller per-connection buffers than Tomcat's 8 KiB ones (gateway.http.*-buffer-bytes): 2,000 open chat streams
     * held 2,000 sets of them (issue 13). The response buffer is a protocol handler's property
     * ({@link CompactHttp11NioProtocol}); the socket buffers are the endpoint's. Each connection's chunked-body reader
     * also allocates, up front, a buffer as large as the trailer headers a request may send (Tomcat's
     * {@code maxTrailerSize}, 8 KiB by default), which no client of this API sends.
     */
    @Bean
    WebServerFactoryCustomizer<TomcatServletWebServerFactory> compactConnectionBuffers(
            @Value("${gateway.http.socket-read-buffer-bytes}") int readBuffer,
            @Value("${gateway.http.socket-write-buffer-bytes}") int writeBuffer,
            @Value("${gateway.http.response-buffer-bytes}") int responseBuffer,
            @Value("${gateway.http.max-trailer-bytes}") int maxTrailer) {
        return factory -> {
            factory.setProtocol(CompactHttp11NioProtocol.class.getName());
            factory.addConnectorCustomizers(connector -> {
                if (!(connector.getProtocolHandler() instanceof CompactHttp11NioProtocol protocol)) {
                    throw new IllegalStateException("the connector's protocol is " + connector.getProtocolHandler().getClass());
                }
                protocol.setResponseBufferSize(responseBuffer);
                protocol.setMaxTrailerSize(maxTrailer);
                connector.setProperty("socket.appReadBufSize", Integer.toString(readBuffer));
                connector.setProperty("socket.appWriteBufSize", Integer.toString(writeBuffer));
            });
        };
    }

    @Bean
    WebServerFactoryCustomizer<TomcatServletWebServerFactory> jsonErrorReports(ApiErrors errors) {
        return factory -> factory.addContextCustomizers(context -> {
            StandardHost host = (StandardHost) context.getParent();
            // Naming the valve's class keeps the host from adding Tomcat's HTML ErrorReportValve beside it.
            host.setErrorReportValveClass(JsonErrorReportValve.class.getName());
            host.getPipeline().addValve(new JsonErrorReportValve(errors));
        });
    }
}
