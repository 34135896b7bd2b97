package io.krill.shim;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * When a daemon without tasks leaves: after its idle timeout, but never within the grace after a
 * connection came, which is a start's Create on its way (a short idle timeout once closed the
 * daemon under containerd's Create: "ttrpc: closed").
 */
class DaemonIdleTest {
  private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

  @Test
  void leavesAfterTheIdleTimeoutOnceNoConnectionCameWithinTheGrace() {
    long start = 1_000 * SECOND;
    long grace = Daemon.ACCEPT_GRACE_NANOS;
    assertFalse(Daemon.idle(start + SECOND / 2, start, start - 60 * SECOND, SECOND));
    assertTrue(Daemon.idle(start + 2 * SECOND, start, start - 60 * SECOND, SECOND));
    // A connection accepted (the launcher's probe, containerd's connection) holds it for the grace.
    assertFalse(Daemon.idle(start + 2 * SECOND, start, start, SECOND));
    assertFalse(Daemon.idle(start + grace, start, start, SECOND));
    assertTrue(Daemon.idle(start + grace + 1, start, start, SECOND));
    // A long idle timeout still counts from the last activity.
    assertFalse(Daemon.idle(start + grace + 1, start, start, 30 * SECOND));
  }
}
