package io.krill.wasi;

/**
 * Thrown out of a host call by {@code proc_exit}: the engine unwinds the guest and reports {@link
 * #code()}. Codes 0 to 255 are reported as given; a larger one is refused as Wasmtime's CLI refuses
 * it (an error, exit status 1), with {@link #message()} saying so.
 */
public final class ProcExit extends RuntimeException {
  private final int code;
  private final String message;

  ProcExit(int code, String message) {
    super(message == null ? "proc_exit(" + code + ")" : message, null, false, false);
    this.code = code;
    this.message = message;
  }

  public int code() {
    return code;
  }

  /** Why the exit status is not the guest's own, or null when it is. */
  public String message() {
    return message;
  }
}
