package io.krill.cri.pod.cni;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.Optional;

/**
 * A plugin's error result: CNI spec 1.0 has a failing plugin print {@code {"code", "msg",
 * "details"}} on stdout and exit non-zero. Codes 1-99 are the spec's (e.g. 11 "try again later"),
 * 100 and up the plugin's own.
 */
public record CniError(int code, String msg, String details) {
  private static final ObjectMapper JSON = new ObjectMapper();

  public CniError {
    msg = msg == null ? "" : msg;
    details = details == null ? "" : details;
  }

  /**
   * Empty when {@code stdout} is not a CNI error object (a crash, or a tool that is not a CNI
   * plugin).
   */
  public static Optional<CniError> parse(String stdout) {
    if (stdout == null || stdout.isBlank()) {
      return Optional.empty();
    }
    try {
      JsonNode n = JSON.readTree(stdout);
      if (n == null || !n.isObject() || !n.path("code").canConvertToInt() || !n.has("msg")) {
        return Optional.empty();
      }
      return Optional.of(
          new CniError(n.get("code").asInt(), n.path("msg").asText(), n.path("details").asText()));
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** {@code msg: details (CNI error code)}. */
  public String text() {
    return msg + (details.isEmpty() ? "" : ": " + details) + " (CNI error " + code + ")";
  }
}
