package io.krill.engine;

/**
 * An engine's refusal, with a message for the user that names the container. The core turns it into
 * its own error: {@link Kind#INVALID_MODULE} is the user's to fix (invalid argument), {@link
 * Kind#INTERNAL} is the engine's or the host's.
 */
public final class EngineException extends RuntimeException {
  public enum Kind {
    INVALID_MODULE,
    INTERNAL
  }

  private final Kind kind;

  public EngineException(Kind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public EngineException(Kind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public Kind kind() {
    return kind;
  }

  /** The engine could not read or validate the module: the user rebuilds it. */
  public static EngineException invalidModule(
      String containerId, String modulePath, Throwable cause) {
    return new EngineException(
        Kind.INVALID_MODULE,
        "container "
            + containerId
            + ": module "
            + modulePath
            + " is not a valid WebAssembly module: "
            + firstLine(cause.getMessage())
            + " (rebuild it for wasm32-wasi / wasm32-wasip1)",
        cause);
  }

  /** The first line of an engine's (often multi-line) message. */
  public static String firstLine(String s) {
    if (s == null) {
      return "unknown error";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }
}
