package io.krill.wasi;

/** Thrown out of a waiting host call (a sleep, a poll, a stdin read) when krill stops the guest. */
public final class GuestInterrupted extends RuntimeException {
  public GuestInterrupted(String message) {
    super(message, null, false, false);
  }
}
