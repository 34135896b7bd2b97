package io.krill.ttrpc;

import java.util.Objects;

/** A non-OK ttrpc status, thrown by handlers or delivered to callers. */
public class TtrpcException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final Code code;

  public TtrpcException(Code code, String message) {
    super(message);
    this.code = Objects.requireNonNull(code, "code");
  }

  public TtrpcException(Code code, String message, Throwable cause) {
    super(message, cause);
    this.code = Objects.requireNonNull(code, "code");
  }

  public Code code() {
    return code;
  }

  @Override
  public String toString() {
    // getMessage() stays the bare status message so it round-trips unchanged over the wire.
    return "TtrpcException[" + code + "]: " + getMessage();
  }
}
