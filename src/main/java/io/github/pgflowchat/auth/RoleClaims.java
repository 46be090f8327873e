package io.github.pgflowchat.auth;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;

import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.core.authority.SimpleGrantedAuthority;
import org.springframework.security.oauth2.jwt.Jwt;

/**
 * The roles a Supabase token grants: its {@code role} claim ({@code authenticated} for users, {@code service_role}
 * for the service key) and {@code app_metadata.role}, which only the project's service key can set. Never
 * {@code user_metadata}, which users edit themselves. Each becomes the authority {@code ROLE_<role>}, the form
 * Spring Security's role checks and the actuator's health roles look for.
 */
final class RoleClaims {

    private RoleClaims() {
    }

    static Collection<GrantedAuthority> authorities(Jwt jwt) {
        List<GrantedAuthority> authorities = new ArrayList<>();
        if (jwt.getClaim("role") instanceof String role) {
            authorities.add(authority(role));
        }
        if (jwt.getClaim("app_metadata") instanceof Map<?, ?> appMetadata && appMetadata.get("role") instanceof String role) {
            authorities.add(authority(role));
        }
        return authorities;
    }

    static GrantedAuthority authority(String role) {
        return new SimpleGrantedAuthority("ROLE_" + role);
    }
}
