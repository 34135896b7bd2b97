package io.krill.os;

import com.sun.jna.Native;
import com.sun.jna.ptr.IntByReference;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.BooleanSupplier;

/**
 * The writing end of a guest's stdin FIFO, opened read-write and non-blocking: opening does not
 * wait for the guest, the guest never sees end-of-file while krill holds it, and a write to a full
 * pipe waits in short sleeps that {@link #close} ends, so no thread is ever stuck in write(2) for a
 * guest that stopped reading. {@link #unread} tells whether the guest has read everything, so its
 * input can be ended without losing the bytes still in the pipe.
 */
public final class PipeWriter implements AutoCloseable {
  private static final int O_RDWR = 2;
  private static final int O_NONBLOCK = 04000;
  private static final int O_CLOEXEC = 02000000;
  private static final long FIONREAD = 0x541B;
  private static final int EAGAIN = 11;
  private static final int EINTR = 4;
  private static final long POLL_MILLIS = 2;

  private final Path path;
  private final int fd;
  private volatile boolean closed;

  private PipeWriter(Path path, int fd) {
    this.path = path;
    this.fd = fd;
  }

  public static PipeWriter open(Path fifo) throws IOException {
    int fd = LibC.INSTANCE.open(fifo.toString(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      throw new IOException("open " + fifo + " failed: errno " + Native.getLastError());
    }
    return new PipeWriter(fifo, fd);
  }

  /** Writes all of it, waiting while the pipe is full; fails once closed. */
  public void write(byte[] b, int off, int len) throws IOException {
    byte[] rest = off == 0 && len == b.length ? b : Arrays.copyOfRange(b, off, off + len);
    int done = 0;
    while (done < rest.length) {
      byte[] chunk = done == 0 ? rest : Arrays.copyOfRange(rest, done, rest.length);
      long n;
      int errno = 0;
      // Never in write(2) while close(2) runs: the descriptor could be reused.
      synchronized (this) {
        if (closed) {
          throw new IOException(path + " is closed");
        }
        n = LibC.INSTANCE.write(fd, chunk, chunk.length);
        if (n < 0) {
          errno = Native.getLastError();
        }
      }
      if (n > 0) {
        done += (int) n;
      } else {
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
          throw new IOException("write to " + path + " failed: errno " + errno);
        }
        pause();
      }
    }
  }

  /** Bytes in the pipe that the guest has not read yet. */
  public synchronized int unread() {
    IntByReference n = new IntByReference();
    return closed || LibC.INSTANCE.ioctl(fd, FIONREAD, n) != 0 ? 0 : n.getValue();
  }

  /**
   * Waits until the guest has read everything, or {@code reading} turns false, or this is closed.
   */
  public void awaitDrained(BooleanSupplier reading) {
    while (!closed && unread() > 0 && reading.getAsBoolean()) {
      pause();
    }
  }

  private static void pause() {
    try {
      Thread.sleep(POLL_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      LibC.INSTANCE.close(fd);
    }
  }
}
