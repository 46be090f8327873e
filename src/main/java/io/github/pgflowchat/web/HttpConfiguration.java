package io.github.pgflowchat.web;

import java.util.Map;

import org.apache.camel.CamelContext;
import org.apache.catalina.core.StandardHost;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.web.embedded.tomcat.TomcatServletWebServerFactory;
import org.springframework.boot.web.server.WebServerFactoryCustomizer;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.Ordered;

/**
 * The servlet filters in front of every route, and the container's own error answers. Both filters come before
 * Spring Security and every other filter: a request refused here has had nothing read or decided on its behalf.
 */
@Configuration(proxyBeanMethods = false)
class HttpConfiguration {

    @Bean
    FilterRegistrationBean<RoutesStartedFilter> routesStartedFilter(ObjectProvider<CamelContext> camel, ApiErrors errors) {
        FilterRegistrationBean<RoutesStartedFilter> registration = new FilterRegistrationBean<>(new RoutesStartedFilter(camel, errors));
        // Right after Spring's CharacterEncodingFilter (highest precedence), which only sets the request's encoding.
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 1);
        return registration;
    }

    @Bean
    FilterRegistrationBean<RequestBodyLimitFilter> requestBodyLimitFilter(ApiErrors errors,
            @Value("${gateway.chat.limits.max-body-bytes}") long chat,
            @Value("${gateway.documents.max-body-bytes}") long documents,
            @Value("${gateway.http.max-body-bytes}") long other) {
        FilterRegistrationBean<RequestBodyLimitFilter> registration = new FilterRegistrationBean<>(
                new RequestBodyLimitFilter(Map.of("/api/chat", chat, "/api/documents", documents), other, errors));
        registration.setOrder(Ordered.HIGHEST_PRECEDENCE + 2);
        return registration;
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
