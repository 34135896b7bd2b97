package io.krill.ttrpc;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a handler knows about the call besides its payload.
 *
 * @param timeoutNanos the client's remaining deadline when it sent the request; 0 means none
 * @param metadata values per key in arrival order; a key may repeat on the wire
 */
public record RequestContext(
    String service, String method, long timeoutNanos, Map<String, List<String>> metadata) {
  public RequestContext {
    // Handlers may keep the context around; never let them see or cause later mutation.
    Map<String, List<String>> copy = new LinkedHashMap<>();
    if (metadata != null) {
      metadata.forEach((k, v) -> copy.put(k, List.copyOf(v)));
    }
    metadata = Collections.unmodifiableMap(copy);
  }

  /** First value for {@code key}, or null. */
  public String firstMetadata(String key) {
    List<String> values = metadata.get(key);
    return values == null || values.isEmpty() ? null : values.get(0);
  }
}
