package io.krill.os;

import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * A reading end of a guest's stdout or stderr FIFO that krill holds and never reads, as runc's shim
 * does: opened non-blocking, it is there at once, so a writer's open never waits for a reader that
 * may never come, and a write never fails for want of one. It is no writer, so the real reader
 * still sees end of file when the guest closes its end. Closing it while nobody else reads makes a
 * writer blocked on a full pipe fail, which frees it.
 */
public final class FifoHold implements AutoCloseable {
  private static final int O_RDONLY = 0;
  private static final int O_NONBLOCK = 04000;
  private static final int O_CLOEXEC = 02000000;

  private final int fd;
  private boolean closed;

  private FifoHold(int fd) {
    this.fd = fd;
  }

  /** Holds {@code path} if it is a FIFO; null for anything else (a regular file needs no hold). */
  public static FifoHold of(Path path) throws IOException {
    if (!Files.readAttributes(path, BasicFileAttributes.class).isOther()) {
      return null;
    }
    int fd = LibC.INSTANCE.open(path.toString(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      throw new IOException("open " + path + " failed: errno " + Native.getLastError());
    }
    return new FifoHold(fd);
  }

  @Override
  public synchronized void close() {
    if (!closed) {
      closed = true;
      LibC.INSTANCE.close(fd);
    }
  }
}
