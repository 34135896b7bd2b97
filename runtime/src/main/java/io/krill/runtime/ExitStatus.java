package io.krill.runtime;

import java.time.Instant;
import java.util.Objects;

/**
 * How a guest ended: a POSIX-style exit status (0-255, 128+signal when killed, 134 for a trap, 137
 * for OOM/SIGKILL), when, and a short reason a user can act on.
 */
public record ExitStatus(int code, Instant exitedAt, String reason) {
  public static final int TRAP = 134;

  public ExitStatus {
    Objects.requireNonNull(exitedAt, "exitedAt");
    if (code < 0 || code > 255) {
      code = code & 0xff;
    }
    reason = reason == null ? "" : reason;
  }

  public static ExitStatus now(int code, String reason) {
    return new ExitStatus(code, Instant.now(), reason);
  }
}
