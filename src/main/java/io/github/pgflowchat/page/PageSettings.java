package io.github.pgflowchat.page;

import java.util.LinkedHashMap;
import java.util.Map;

import org.springframework.stereotype.Component;

import io.github.pgflowchat.auth.AuthProperties;
import io.github.pgflowchat.realtime.RealtimeProperties;

/**
 * {@code GET /api/config}: what the chat page must know before its first call, i.e. whether to ask the user to sign
 * in and, when the gateway names its Supabase project by its https URL, where that project's Auth is. Only values a
 * browser may see: the anon key is public by design, the JWT secret is never sent.
 */
@Component("pageSettings")
public class PageSettings {

    private final AuthProperties auth;
    private final RealtimeProperties supabase;

    public PageSettings(AuthProperties auth, RealtimeProperties supabase) {
        this.auth = auth;
        this.supabase = supabase;
    }

    public Map<String, Object> settings() {
        Map<String, Object> settings = new LinkedHashMap<>();
        settings.put("authEnabled", auth.enabled());
        String url = supabase.url() == null ? "" : supabase.url().strip().replaceAll("/+$", "");
        boolean projectUrl = auth.enabled() && url.startsWith("https://") && supabase.apiKey() != null && !supabase.apiKey().isBlank();
        settings.put("supabaseUrl", projectUrl ? url : null);
        settings.put("supabaseAnonKey", projectUrl ? supabase.apiKey() : null);
        return settings;
    }
}
