package io.krill.os;

import com.sun.jna.Native;
import com.sun.jna.ptr.IntByReference;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * FIFOs a guest writes without ever waiting for their reader (containerd's stdout and stderr), its
 * end opened read-write. What is written before the reader comes stays in the pipe only while some
 * end is open, so that end is closed once the pipe is drained ({@link #closeOnceDrained}): krill
 * never reads it, so only a reader can have taken the bytes.
 */
public final class Fifos {
  private static final int O_RDONLY = 0;
  private static final long FIONREAD = 0x541B;
  private static final int O_NONBLOCK = 04000;
  private static final int O_CLOEXEC = 02000000;
  private static final int S_IFMT = 0170000;
  private static final int S_IFIFO = 0010000;
  private static final long CHECK_MILLIS = 10;

  private static final ScheduledExecutorService LINGER =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "fifo-linger");
            t.setDaemon(true);
            return t;
          });

  private Fifos() {}

  public static boolean isFifo(Path path) {
    try {
      int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
      return (mode & S_IFMT) == S_IFIFO;
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  /** Bytes in the FIFO's pipe not read yet; -1 when it cannot be opened (gone). */
  public static int unread(Path fifo) {
    int fd = LibC.INSTANCE.open(fifo.toString(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      Native.getLastError();
      return -1;
    }
    try {
      IntByReference n = new IntByReference();
      return LibC.INSTANCE.ioctl(fd, FIONREAD, n) < 0 ? -1 : n.getValue();
    } finally {
      LibC.INSTANCE.close(fd);
    }
  }

  /**
   * Waits until none of {@code fifos} holds unread bytes, for at most {@code maxMillis} or until
   * {@code stop} says so; a path that is no FIFO (any more) holds none. Returns whether they were
   * all drained.
   */
  public static boolean awaitDrained(List<Path> fifos, long maxMillis, BooleanSupplier stop)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxMillis);
    while (true) {
      boolean drained = true;
      for (Path fifo : fifos) {
        if (unread(fifo) > 0) {
          drained = false;
          break;
        }
      }
      if (drained) {
        return true;
      }
      if (stop.getAsBoolean() || System.nanoTime() - deadline >= 0) {
        return false;
      }
      Thread.sleep(1);
    }
  }

  /**
   * Closes {@code end} (krill's read-write end of {@code fifo}) once its pipe is empty, so that
   * what it holds reaches a reader that comes late; at the latest after {@code maxMillis}, and at
   * once when the path is no FIFO (any more) or holds nothing.
   */
  public static void closeOnceDrained(Closeable end, Path fifo, long maxMillis) {
    if (!isFifo(fifo) || unread(fifo) <= 0) {
      closeQuietly(end);
      return;
    }
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(maxMillis);
    AtomicReference<ScheduledFuture<?>> self = new AtomicReference<>();
    Runnable check =
        () -> {
          if (unread(fifo) <= 0 || System.nanoTime() - deadline >= 0) {
            closeQuietly(end);
            ScheduledFuture<?> f = self.get();
            if (f != null) {
              f.cancel(false);
            }
          }
        };
    self.set(
        LINGER.scheduleWithFixedDelay(check, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS));
  }

  private static void closeQuietly(Closeable c) {
    try {
      c.close();
    } catch (IOException ignored) {
      // nothing more to release
    }
  }
}
