package io.github.pgflowchat.auth;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import javax.crypto.spec.SecretKeySpec;

import com.nimbusds.jwt.JWTParser;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.condition.ConditionalOnWebApplication;
import org.springframework.boot.autoconfigure.thread.Threading;
import org.springframework.boot.task.SimpleAsyncTaskExecutorBuilder;
import org.springframework.boot.task.ThreadPoolTaskExecutorBuilder;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.core.task.AsyncTaskExecutor;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.security.authentication.UsernamePasswordAuthenticationToken;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.core.context.SecurityContextImpl;
import org.springframework.security.config.annotation.ObjectPostProcessor;
import org.springframework.security.config.annotation.web.builders.HttpSecurity;
import org.springframework.security.config.http.SessionCreationPolicy;
import org.springframework.security.config.observation.SecurityObservationSettings;
import org.springframework.security.oauth2.core.DelegatingOAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2Error;
import org.springframework.security.oauth2.core.OAuth2TokenValidator;
import org.springframework.security.oauth2.core.OAuth2TokenValidatorResult;
import org.springframework.security.oauth2.jose.jws.MacAlgorithm;
import org.springframework.security.oauth2.jose.jws.SignatureAlgorithm;
import org.springframework.security.oauth2.jwt.BadJwtException;
import org.springframework.security.oauth2.jwt.Jwt;
import org.springframework.security.oauth2.jwt.JwtDecoder;
import org.springframework.security.oauth2.jwt.JwtIssuerValidator;
import org.springframework.security.oauth2.jwt.JwtTimestampValidator;
import org.springframework.security.oauth2.jwt.NimbusJwtDecoder;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationConverter;
import org.springframework.security.task.DelegatingSecurityContextAsyncTaskExecutor;
import org.springframework.security.web.AuthenticationEntryPoint;
import org.springframework.security.web.SecurityFilterChain;
import org.springframework.security.web.access.AccessDeniedHandler;
import org.springframework.security.web.authentication.AnonymousAuthenticationFilter;
import org.springframework.security.web.header.HeaderWriterFilter;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.web.filter.CorsFilter;

import io.github.pgflowchat.web.ApiErrors;
import io.github.pgflowchat.web.ApiException;

/**
 * Authentication with Supabase Auth JWTs through Spring Security's resource server: {@code /api/**} needs a valid
 * bearer token (signature, {@code exp}, {@code sub}, {@code aud}, {@code iss}); the actuator needs the admin role but
 * for health, which shows others its status only; the chat page and its settings stay open. CORS for the allowed
 * origins is answered before any of that. Without authentication the service refuses to listen on anything but
 * loopback, and answers only requests that a page elsewhere cannot have sent (see {@link LoopbackRequestGuard}).
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnWebApplication(type = ConditionalOnWebApplication.Type.SERVLET)
class SecurityConfiguration {

    private static final Logger log = LoggerFactory.getLogger(SecurityConfiguration.class);
    private static final String DOCUMENTS = "/api/documents";

    @Bean
    SecurityFilterChain api(HttpSecurity http, AuthProperties auth, ApiErrors errors,
                           @Value("${server.address:}") String bindAddress,
                           @Value("${gateway.documents.writes.role}") String documentsWriteRole) throws Exception {
        http.csrf(csrf -> csrf.disable())
                // The routes set Cache-Control themselves: no-cache on the SSE stream (as the AI SDK does), no-store on JSON.
                // The security headers are written before the request goes on: platform-http writes a stream's body on
                // another thread, and headers written when the response commits raced with the container thread.
                .headers(headers -> headers.cacheControl(cache -> cache.disable())
                        .withObjectPostProcessor(new ObjectPostProcessor<HeaderWriterFilter>() {
                            @Override
                            public <O extends HeaderWriterFilter> O postProcess(O filter) {
                                filter.setShouldWriteHeadersEagerly(true);
                                return filter;
                            }
                        }))
                .sessionManagement(session -> session.sessionCreationPolicy(SessionCreationPolicy.STATELESS))
                .httpBasic(basic -> basic.disable())
                .formLogin(form -> form.disable());
        if (!auth.corsAllowedOrigins().isEmpty()) {
            http.addFilter(CorsPolicy.filter(auth.corsAllowedOrigins(), errors));
        }
        if (!auth.enabled()) {
            requireLoopback(bindAddress);
            log.warn("*** AUTHENTICATION IS OFF: every request acts as user '{}'. This is allowed only because the server is bound to "
                    + "loopback ({}). Set AUTH_ENABLED=true (with SUPABASE_JWT_SECRET or SUPABASE_URL) before exposing it. ***",
                    auth.anonymousUserId(), bindAddress);
            return http.addFilterBefore(new LoopbackRequestGuard(auth.corsAllowedOrigins(), errors), CorsFilter.class)
                    .addFilterBefore(localUser(auth), AnonymousAuthenticationFilter.class)
                    .authorizeHttpRequests(requests -> requests.anyRequest().permitAll())
                    .build();
        }
        AuthenticationEntryPoint jsonUnauthorized = (request, response, failure) -> {
            response.setHeader("WWW-Authenticate", "Bearer");
            errors.write(new ApiException(HttpStatus.UNAUTHORIZED.value(), "unauthorized",
                    "Sign in: send a valid Supabase access token as 'Authorization: Bearer <jwt>'."), response);
        };
        AccessDeniedHandler jsonForbidden = (request, response, denied) -> errors.write(new ApiException(HttpStatus.FORBIDDEN.value(),
                "forbidden", request.getRequestURI().startsWith(DOCUMENTS)
                        ? "Only tokens whose role (or app_metadata.role) is '" + documentsWriteRole + "' (DOCUMENTS_WRITE_ROLE) may change documents."
                        : "This needs a token whose role (or app_metadata.role) is '" + auth.adminRole() + "' (ADMIN_ROLE)."), response);
        JwtAuthenticationConverter roles = new JwtAuthenticationConverter();
        roles.setJwtGrantedAuthoritiesConverter(RoleClaims::authorities);
        return http
                .authorizeHttpRequests(requests -> requests
                        .dispatcherTypeMatchers(DispatcherType.ASYNC, DispatcherType.ERROR).permitAll()
                        // Anonymous health is the status alone (management.endpoint.health.roles shows the rest to admins).
                        .requestMatchers("/actuator/health", "/actuator/health/**").permitAll()
                        .requestMatchers("/actuator", "/actuator/**").hasRole(auth.adminRole())
                        // Refused here, before the body is read: the corpus is shared by every user's answers.
                        .requestMatchers(HttpMethod.POST, DOCUMENTS).hasRole(documentsWriteRole)
                        // The chat page and what it reads before sign-in: it asks for the token itself. The API's
                        // OpenAPI document says what every operation needs, and holds nothing of any user.
                        .requestMatchers(HttpMethod.GET, "/", "/index.html", "/assets/**", "/api/config", "/api/openapi.json").permitAll()
                        .anyRequest().authenticated())
                .oauth2ResourceServer(resource -> resource
                        .authenticationEntryPoint(jsonUnauthorized)
                        .accessDeniedHandler(jsonForbidden)
                        .jwt(jwt -> jwt.jwtAuthenticationConverter(roles)))
                .exceptionHandling(exceptions -> exceptions.authenticationEntryPoint(jsonUnauthorized).accessDeniedHandler(jsonForbidden))
                .build();
    }

    /**
     * With authentication off every request is the one local user, who holds the admin role: reachable only from
     * loopback, it is the operator, and health shows it the details as it does to an admin.
     */
    private static Filter localUser(AuthProperties auth) {
        Authentication user = UsernamePasswordAuthenticationToken.authenticated(auth.anonymousUserId(), null,
                List.of(RoleClaims.authority(auth.adminRole())));
        return (request, response, chain) -> {
            SecurityContextHolder.setContext(new SecurityContextImpl(user));
            chain.doFilter(request, response);
        };
    }

    /** HS256 tokens are checked with the project's secret, others with its JWKS; both with exp, sub, aud and iss. */
    /**
     * No Micrometer observation around each security filter, authentication and authorization: with an observation
     * registry present, Spring Security wraps every filter of every request in one, which cost more CPU per chat than
     * the filters themselves (throughput benchmark, issue 13). HTTP requests are still observed by Spring MVC.
     */
    @Bean
    static SecurityObservationSettings noSecurityObservations() {
        return SecurityObservationSettings.noObservations();
    }

    @Bean
    JwtDecoder supabaseJwtDecoder(AuthProperties auth, @Value("${gateway.realtime.url:}") String supabaseUrl) {
        String projectUrl = supabaseUrl == null ? "" : supabaseUrl.strip().replaceAll("/+$", "");
        String issuer = auth.issuer() == null || auth.issuer().isBlank()
                ? (projectUrl.startsWith("http") ? projectUrl + "/auth/v1" : "") : auth.issuer();
        String jwksUri = auth.jwksUri() == null || auth.jwksUri().isBlank()
                ? (projectUrl.startsWith("http") ? projectUrl + "/auth/v1/.well-known/jwks.json" : "") : auth.jwksUri();
        OAuth2TokenValidator<Jwt> validator = validator(issuer, auth.audience());

        NimbusJwtDecoder hmac = null;
        if (auth.jwtSecret() != null && !auth.jwtSecret().isBlank()) {
            hmac = NimbusJwtDecoder.withSecretKey(new SecretKeySpec(auth.jwtSecret().getBytes(StandardCharsets.UTF_8), "HmacSHA256"))
                    .macAlgorithm(MacAlgorithm.HS256).build();
            hmac.setJwtValidator(validator);
        }
        NimbusJwtDecoder keys = null;
        if (!jwksUri.isBlank()) {
            keys = NimbusJwtDecoder.withJwkSetUri(jwksUri).jwsAlgorithms(algorithms -> {
                algorithms.add(SignatureAlgorithm.RS256);
                algorithms.add(SignatureAlgorithm.ES256);
            }).build();
            keys.setJwtValidator(validator);
        }
        if (auth.enabled() && hmac == null && keys == null) {
            throw new IllegalStateException("AUTH_ENABLED=true needs SUPABASE_JWT_SECRET (HS256) or SUPABASE_URL / SUPABASE_JWKS_URI (asymmetric keys)");
        }
        NimbusJwtDecoder bySecret = hmac;
        NimbusJwtDecoder byKeys = keys;
        return token -> {
            String algorithm;
            try {
                algorithm = JWTParser.parse(token).getHeader().getAlgorithm().getName();
            } catch (Exception e) {
                throw new BadJwtException("malformed token", e);
            }
            NimbusJwtDecoder decoder = "HS256".equals(algorithm) ? bySecret : byKeys;
            if (decoder == null) {
                throw new BadJwtException("tokens signed with " + algorithm + " are not accepted here");
            }
            return decoder.decode(token);
        };
    }

    private static OAuth2TokenValidator<Jwt> validator(String issuer, String audience) {
        List<OAuth2TokenValidator<Jwt>> validators = new ArrayList<>();
        validators.add(new JwtTimestampValidator());
        // Runs belong to the subject: without one, every such token would share one identity.
        validators.add(jwt -> jwt.getSubject() != null && !jwt.getSubject().isBlank()
                ? OAuth2TokenValidatorResult.success()
                : OAuth2TokenValidatorResult.failure(new OAuth2Error("invalid_token", "the token has no subject (sub)", null)));
        validators.add(jwt -> jwt.getExpiresAt() != null
                ? OAuth2TokenValidatorResult.success()
                : OAuth2TokenValidatorResult.failure(new OAuth2Error("invalid_token", "the token has no exp", null)));
        if (!issuer.isBlank()) {
            validators.add(new JwtIssuerValidator(issuer));
        }
        if (audience != null && !audience.isBlank()) {
            validators.add(jwt -> jwt.getAudience() != null && jwt.getAudience().contains(audience)
                    ? OAuth2TokenValidatorResult.success()
                    : OAuth2TokenValidatorResult.failure(new OAuth2Error("invalid_token", "the token is not for audience " + audience, null)));
        }
        return new DelegatingOAuth2TokenValidator<>(validators);
    }

    /**
     * Where platform-http runs each request's route (its auto-configuration picks this executor type when present),
     * wrapped so the caller's security context travels with the request: a virtual thread per request, or with
     * virtual threads off the request pool (spring.task.execution.pool).
     */
    @Bean(name = "applicationTaskExecutor")
    AsyncTaskExecutor applicationTaskExecutor(Environment environment, ObjectProvider<SimpleAsyncTaskExecutorBuilder> perRequest,
                                              ObjectProvider<ThreadPoolTaskExecutorBuilder> pool) {
        if (Threading.VIRTUAL.isActive(environment)) {
            return new DelegatingSecurityContextAsyncTaskExecutor(perRequest.getObject().build());
        }
        ThreadPoolTaskExecutor threads = pool.getObject().build();
        threads.initialize();
        return new DelegatingSecurityContextAsyncTaskExecutor(threads);
    }

    static void requireLoopback(String bindAddress) {
        try {
            if (bindAddress == null || bindAddress.isBlank() || !InetAddress.getByName(bindAddress).isLoopbackAddress()) {
                throw new IllegalStateException("Authentication is off (AUTH_ENABLED=false) but the server would listen on '"
                        + (bindAddress == null || bindAddress.isBlank() ? "all interfaces" : bindAddress)
                        + "'. Turn authentication on, or bind to 127.0.0.1 (BIND_ADDRESS).");
            }
        } catch (UnknownHostException e) {
            throw new IllegalStateException("BIND_ADDRESS '" + bindAddress + "' cannot be resolved", e);
        }
    }
}
