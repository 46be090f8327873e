package io.github.pgflowchat.auth;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Supabase Auth JWTs. A project signs with its JWT secret (HS256, legacy) or with asymmetric keys published at
 * {@code <SUPABASE_URL>/auth/v1/.well-known/jwks.json}; both are accepted when configured.
 *
 * @param enabled          off only for the embedded default bound to loopback
 * @param jwtSecret        the project's JWT secret, for HS256 tokens
 * @param jwksUri          the JWKS endpoint, for RS256/ES256 tokens; derived from the Supabase URL when empty
 * @param issuer           expected {@code iss}; derived from the Supabase URL ({@code …/auth/v1}) when empty
 * @param audience         expected {@code aud} ({@code authenticated} for signed-in Supabase users)
 * @param anonymousUserId  owner of every run while authentication is off
 */
@ConfigurationProperties("gateway.auth")
public record AuthProperties(boolean enabled, String jwtSecret, String jwksUri, String issuer, String audience,
                             String anonymousUserId) {
}
