package io.github.pgflowchat.auth;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class LoopbackOnlyWithoutAuthTest {

    @Test
    void withoutAuthenticationOnlyLoopbackAddressesAreAllowed() {
        assertThatCode(() -> SecurityConfiguration.requireLoopback("127.0.0.1")).doesNotThrowAnyException();
        assertThatCode(() -> SecurityConfiguration.requireLoopback("::1")).doesNotThrowAnyException();
        assertThatCode(() -> SecurityConfiguration.requireLoopback("localhost")).doesNotThrowAnyException();
    }

    @Test
    void withoutAuthenticationAnyOtherBindingIsRefused() {
        assertThatThrownBy(() -> SecurityConfiguration.requireLoopback("0.0.0.0")).hasMessageContaining("AUTH_ENABLED");
        assertThatThrownBy(() -> SecurityConfiguration.requireLoopback("")).hasMessageContaining("all interfaces");
        assertThatThrownBy(() -> SecurityConfiguration.requireLoopback(null)).hasMessageContaining("all interfaces");
    }
}
