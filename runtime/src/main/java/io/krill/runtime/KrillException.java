package io.krill.runtime;

/**
 * The one exception type of the runtime core: an {@link ErrorCode} plus a message meant for the
 * user.
 */
public class KrillException extends RuntimeException {
  private final ErrorCode code;

  public KrillException(ErrorCode code, String message) {
    super(message);
    this.code = code;
  }

  public KrillException(ErrorCode code, String message, Throwable cause) {
    super(message, cause);
    this.code = code;
  }

  public ErrorCode code() {
    return code;
  }

  public static KrillException notFound(String id) {
    return new KrillException(
        ErrorCode.NOT_FOUND, "container " + id + ": no such task in this krill daemon");
  }
}
