package io.krill.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.ThreadFactory;
import org.junit.jupiter.api.Test;

class DaemonThreadsTest {
  @Test
  void numbered_namedDaemonThreadsInOrder() {
    ThreadFactory f = DaemonThreads.numbered("timer");
    Thread a = f.newThread(() -> {});
    Thread b = f.newThread(() -> {});
    assertEquals("timer-1", a.getName());
    assertEquals("timer-2", b.getName());
    assertTrue(a.isDaemon() && b.isDaemon());
    assertEquals(
        "krill-cri-timer", DaemonThreads.named("krill-cri-timer").newThread(() -> {}).getName());
  }
}
