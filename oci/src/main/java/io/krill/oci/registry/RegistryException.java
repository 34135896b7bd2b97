package io.krill.oci.registry;

/**
 * A registry refused or failed a request. The message says what was asked, what the registry
 * answered (its error code when it sent one) and, for the common cases, what to do.
 */
public final class RegistryException extends RuntimeException {
  private final int status;

  public RegistryException(int status, String message) {
    super(message);
    this.status = status;
  }

  public RegistryException(String message, Throwable cause) {
    super(message, cause);
    this.status = 0;
  }

  public RegistryException(int status, String message, Throwable cause) {
    super(message, cause);
    this.status = status;
  }

  /** The HTTP status, or 0 when the registry never answered. */
  public int status() {
    return status;
  }
}
