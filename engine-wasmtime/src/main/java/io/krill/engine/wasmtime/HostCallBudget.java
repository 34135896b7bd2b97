package io.krill.engine.wasmtime;

import java.util.concurrent.atomic.AtomicLong;

/**
 * How many WASI calls the daemon's running Wasmtime guests may have made, all together.
 *
 * <p>wasmtime-java 0.19 calls a host function through JNI without a local frame of its own: the
 * arguments' {@code Val} objects, their arrays and the result stay referenced from the guest
 * thread's JNI handles until the guest's entry returns, about 250 bytes of the daemon's heap per
 * call, and every garbage collection walks them. A guest that calls WASI millions of times in one
 * run (a logging loop, a listening server) would otherwise fill the heap, and the daemon, with
 * every container in it, would end on an {@link OutOfMemoryError}. Instead the guest that takes the
 * total past the budget is stopped, with a message saying why and what to do. Chicory, krill's
 * other engine, has no such limit.
 *
 * <p>Guests count their calls themselves and take from the budget in steps: {@value #FIRST_STEP}
 * calls first (what a sleeping guest needs, so a thousand of them take little), then as many as
 * they have taken, up to {@value #MAX_STEP} at once, so the shared counter is touched rarely.
 */
final class HostCallBudget {
  /** What one call keeps on the heap, rounded up from a guest of 4-argument calls (fd_write). */
  static final long BYTES_PER_CALL = 256;

  /** Calls a guest takes from the budget first, and at most at once. */
  static final int FIRST_STEP = 64;

  static final int MAX_STEP = 1024;

  /** The daemon's: two fifths of its heap. */
  static final HostCallBudget DAEMON =
      new HostCallBudget(Runtime.getRuntime().maxMemory() * 2 / 5 / BYTES_PER_CALL);

  private final long max;
  private final AtomicLong taken = new AtomicLong();

  HostCallBudget(long max) {
    this.max = max;
  }

  /** What a guest that has taken {@code taken} calls takes next. */
  static long nextStep(long taken) {
    return taken == 0 ? FIRST_STEP : Math.min(taken, MAX_STEP);
  }

  /** Takes {@code calls}; false, taking nothing, if that would exceed the budget. */
  boolean take(long calls) {
    long now = taken.addAndGet(calls);
    if (now > max) {
      taken.addAndGet(-calls);
      return false;
    }
    return true;
  }

  /** Gives back what a guest took, once its entry has returned (its JNI handles are freed). */
  void release(long calls) {
    taken.addAndGet(-calls);
  }

  /** Calls taken now (for tests). */
  long taken() {
    return taken.get();
  }

  /** The most calls the running guests may have made together. */
  long max() {
    return max;
  }
}
