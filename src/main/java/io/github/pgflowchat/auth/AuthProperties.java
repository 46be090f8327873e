package io.github.pgflowchat.auth;

import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Supabase Auth JWTs. A project signs with its JWT secret (HS256, legacy) or with asymmetric keys published at
 * {@code <SUPABASE_URL>/auth/v1/.well-known/jwks.json}; both are accepted when configured.
 *
 * @param enabled            off only for the embedded default bound to loopback
 * @param jwtSecret          the project's JWT secret, for HS256 tokens
 * @param jwksUri            the JWKS endpoint, for RS256/ES256 tokens; derived from the Supabase URL when empty
 * @param issuer             expected {@code iss}; derived from the Supabase URL ({@code …/auth/v1}) when empty
 * @param audience           expected {@code aud} ({@code authenticated} for signed-in Supabase users)
 * @param anonymousUserId    owner of every run while authentication is off
 * @param adminRole          the role ({@code role} or {@code app_metadata.role} claim) that may read the actuator
 *                           endpoints besides health, and health's details
 * @param corsAllowedOrigins exact origins ({@code https://app.example.com}) whose pages may call the API from a browser
 */
@ConfigurationProperties("gateway.auth")
public record AuthProperties(boolean enabled, String jwtSecret, String jwksUri, String issuer, String audience,
                             String anonymousUserId, String adminRole, List<String> corsAllowedOrigins) {

    public AuthProperties {
        corsAllowedOrigins = corsAllowedOrigins == null ? List.of() : corsAllowedOrigins.stream()
                .map(origin -> origin.strip().replaceAll("/+$", ""))
                .filter(origin -> !origin.isEmpty())
                .toList();
    }
}
