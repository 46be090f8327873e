package io.github.pgflowchat.page;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import io.github.pgflowchat.auth.AuthProperties;
import io.github.pgflowchat.realtime.RealtimeProperties;

class PageSettingsTest {

    private static AuthProperties auth(boolean enabled) {
        return new AuthProperties(enabled, "the-jwt-secret", "", "", "authenticated", "local-user", "service_role", List.of());
    }

    private static RealtimeProperties supabase(String url, String anonKey) {
        return new RealtimeProperties(url, anonKey, "", "2.0.0", Duration.ofSeconds(25), Duration.ofSeconds(10));
    }

    @Test
    void withAuthenticationOnThePageIsToldWhereTheSupabaseProjectsAuthIs() {
        Map<String, Object> settings = new PageSettings(auth(true), supabase("https://abc.supabase.co/", "anon-key")).settings();

        assertThat(settings).containsEntry("authEnabled", true)
                .containsEntry("supabaseUrl", "https://abc.supabase.co")
                .containsEntry("supabaseAnonKey", "anon-key");
        assertThat(settings.values()).doesNotContain("the-jwt-secret");
    }

    @Test
    void aRealtimeWebsocketUrlOrAMissingKeyNamesNoProject() {
        assertThat(new PageSettings(auth(true), supabase("wss://abc.supabase.co/realtime/v1/websocket", "anon-key")).settings())
                .containsEntry("authEnabled", true).containsEntry("supabaseUrl", null);
        assertThat(new PageSettings(auth(true), supabase("https://abc.supabase.co", "")).settings())
                .containsEntry("supabaseUrl", null).containsEntry("supabaseAnonKey", null);
    }

    @Test
    void withAuthenticationOffThereIsNothingToSignInTo() {
        assertThat(new PageSettings(auth(false), supabase("https://abc.supabase.co", "anon-key")).settings())
                .containsEntry("authEnabled", false).containsEntry("supabaseUrl", null).containsEntry("supabaseAnonKey", null);
    }
}
