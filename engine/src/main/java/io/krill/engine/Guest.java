package io.krill.engine;

/**
 * One prepared wasm instance-to-be. {@link #run()} blocks its caller (the task's own thread) until
 * the guest ends; {@link #interrupt()} may be called from any thread at any time, also before run.
 */
public interface Guest extends AutoCloseable {
  GuestResult run();

  void interrupt();

  /**
   * SIGTERM: a guest that can stop gracefully (a server finishing its requests in flight) starts to
   * and answers true; its {@link #run()} then ends by itself, reported as ended by the signal.
   * False (the default): the signal interrupts it like any other.
   */
  default boolean terminateGracefully() {
    return false;
  }

  /**
   * Ends the guest's stdin (CloseIO): what was written before it is still read, then end-of-file; a
   * read waiting on an empty stdin ends.
   */
  default void closeStdin() {}

  /**
   * A graceful stop of a listening guest: {@code sock_accept} takes no more connections (a wait in
   * it ends with an error the guest sees), connections it already has go on. Any thread.
   */
  default void stopAccepting() {}

  /** After {@link #run()}: whether the guest's linear memory had reached its limit. */
  default boolean memoryExhausted() {
    return false;
  }

  /**
   * After {@link #run()}: the {@link System#nanoTime()} at which the instance was ready to run its
   * entry (instantiated, its imports bound, about to call {@code _start}), or 0 if it never got
   * there or the engine does not tell. What an instance costs before the guest's own code runs.
   */
  default long readyNanos() {
    return 0;
  }

  /** Resident bytes of the guest's linear memory, or 0 when not known (not started, ended). */
  long linearMemoryBytes();

  /** Frees every native resource. Safe to call more than once; never while {@link #run()} runs. */
  @Override
  void close();
}
