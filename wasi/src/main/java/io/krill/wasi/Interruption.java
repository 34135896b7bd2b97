package io.krill.wasi;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/** Lets krill stop a guest that waits in a host call; shared by the engine and the WASI layer. */
public final class Interruption {
  private final CountDownLatch latch = new CountDownLatch(1);
  private final List<Runnable> wakeups = new CopyOnWriteArrayList<>();

  public void interrupt() {
    latch.countDown();
    for (Runnable r : wakeups) {
      r.run();
    }
  }

  /**
   * Runs {@code wakeup} when the guest is interrupted (at once if it already is): how a wait that
   * is not on this latch, such as a socket selector, ends on a kill.
   */
  void onInterrupt(Runnable wakeup) {
    wakeups.add(wakeup);
    if (interrupted()) {
      wakeup.run();
    }
  }

  private volatile boolean acceptingStopped;

  /**
   * A graceful stop (SIGTERM of a listening guest): {@code sock_accept} takes no more connections
   * (a wait in it ends with an error), what the guest already accepted goes on.
   */
  public void stopAccepting() {
    acceptingStopped = true;
    for (Runnable r : wakeups) {
      r.run();
    }
  }

  public boolean acceptingStopped() {
    return acceptingStopped;
  }

  public boolean interrupted() {
    return latch.getCount() == 0;
  }

  /** Waits {@code nanos}; throws {@link GuestInterrupted} if interrupted first (or before). */
  public void sleep(long nanos, String what) {
    try {
      if (latch.await(Math.max(0, nanos), TimeUnit.NANOSECONDS)) {
        throw new GuestInterrupted("guest interrupted by krill while " + what);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new GuestInterrupted("guest thread interrupted while " + what);
    }
  }

  /** Throws {@link GuestInterrupted} if interrupted. */
  public void check(String what) {
    if (interrupted()) {
      throw new GuestInterrupted("guest interrupted by krill while " + what);
    }
  }
}
