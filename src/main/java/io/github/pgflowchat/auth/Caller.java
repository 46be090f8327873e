package io.github.pgflowchat.auth;

import org.springframework.security.core.Authentication;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationToken;
import org.springframework.stereotype.Component;

import io.github.pgflowchat.web.ApiException;

/** Who is calling: the JWT's {@code sub} when authentication is on, the configured anonymous id otherwise. */
@Component("caller")
public class Caller {

    private final AuthProperties properties;

    public Caller(AuthProperties properties) {
        this.properties = properties;
    }

    public String userId() {
        if (!properties.enabled()) {
            return properties.anonymousUserId();
        }
        return token().getToken().getSubject();
    }

    private static JwtAuthenticationToken token() {
        Authentication authentication = SecurityContextHolder.getContext().getAuthentication();
        if (authentication instanceof JwtAuthenticationToken jwt) {
            return jwt;
        }
        throw new ApiException(401, "unauthorized", "Sign in: send a Supabase access token as 'Authorization: Bearer <jwt>'.");
    }
}
