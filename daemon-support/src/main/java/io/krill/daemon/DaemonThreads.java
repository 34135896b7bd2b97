package io.krill.daemon;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Thread factories of the daemons: every thread named (so a thread dump says what it is for) and a
 * daemon thread (so none of them keeps a JVM up once its server has stopped).
 */
public final class DaemonThreads {
  private DaemonThreads() {}

  /** Threads named {@code prefix-1}, {@code prefix-2}, ... */
  public static ThreadFactory numbered(String prefix) {
    AtomicLong n = new AtomicLong();
    return r -> daemon(r, prefix + "-" + n.incrementAndGet());
  }

  /** Threads all named {@code name} (for an executor that only ever has one). */
  public static ThreadFactory named(String name) {
    return r -> daemon(r, name);
  }

  /** A started-by-the-caller daemon thread named {@code name}. */
  public static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }
}
