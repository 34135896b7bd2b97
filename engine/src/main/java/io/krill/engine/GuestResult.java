package io.krill.engine;

/** How a guest run ended. */
public sealed interface GuestResult {
  /** The guest returned (code 0) or called {@code proc_exit(code)}. */
  record Exited(int code) implements GuestResult {}

  /** The guest trapped: unreachable, out-of-bounds access, stack overflow, ... */
  record Trapped(String message) implements GuestResult {}

  /** {@link Guest#interrupt()} stopped it. */
  record Interrupted() implements GuestResult {}
}
