package io.krill.cri.streaming;

import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Pending streaming requests by token. A token is 128 random bits, usable once, and expires a
 * minute after it was issued, as kubelet's streaming server does; at most {@link #MAX_PENDING} wait
 * at a time, the oldest giving way.
 */
final class RequestCache {
  static final int MAX_PENDING = 1000;
  static final Duration TTL = Duration.ofMinutes(1);

  private record Entry(Issued request, long expiresAtMillis) {}

  private final SecureRandom random = new SecureRandom();
  private final Clock clock;
  private final Map<String, Entry> pending = new LinkedHashMap<>();

  RequestCache(Clock clock) {
    this.clock = clock;
  }

  synchronized String put(Issued request) {
    evictExpired();
    if (pending.size() >= MAX_PENDING) {
      Iterator<String> oldest = pending.keySet().iterator();
      oldest.next();
      oldest.remove();
    }
    byte[] bytes = new byte[16];
    random.nextBytes(bytes);
    String token = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    pending.put(token, new Entry(request, clock.millis() + TTL.toMillis()));
    return token;
  }

  /** The request for {@code token}, left in place; null when unknown, used or expired. */
  synchronized Issued peek(String token) {
    evictExpired();
    Entry e = pending.get(token);
    return e == null ? null : e.request();
  }

  /** The request for {@code token}, removed: a URL serves one connection. */
  synchronized Issued consume(String token) {
    evictExpired();
    Entry e = pending.remove(token);
    return e == null ? null : e.request();
  }

  private void evictExpired() {
    long now = clock.millis();
    pending.values().removeIf(e -> e.expiresAtMillis() <= now);
  }
}
