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
}
