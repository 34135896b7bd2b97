package io.krill.runtime;

import io.krill.runtime.os.Mounts;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Copies containerd's stdin FIFO into a FIFO of our own that the guest reads. The point is the
 * {@link #close()}: it makes the guest's blocked read return end-of-file at once, which is how
 * Kill and CloseIO reach a guest that waits for input (a read on containerd's FIFO could not be
 * ended while containerd keeps its write end open).
 */
final class StdinRelay implements AutoCloseable {
  private final Path source;
  private final Path fifo;
  private final FileChannel writeEnd;
  private volatile FileChannel sourceChannel;
  private final Thread thread;

  StdinRelay(String containerId, Path source, Path fifo) throws IOException {
    this.source = source;
    this.fifo = fifo;
    Files.deleteIfExists(fifo);
    Mounts.mkfifo(fifo);
    // Opening read+write never blocks on a FIFO, and lets the guest's read-only open succeed at once.
    this.writeEnd = FileChannel.open(fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
    this.thread = new Thread(this::copy, "stdin-" + containerId);
    thread.setDaemon(true);
  }

  Path fifo() {
    return fifo;
  }

  void start() {
    thread.start();
  }

  private void copy() {
    ByteBuffer buf = ByteBuffer.allocate(16 * 1024);
    try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ)) {
      sourceChannel = in;
      while (in.read(buf) >= 0) {
        buf.flip();
        while (buf.hasRemaining()) {
          writeEnd.write(buf);
        }
        buf.clear();
      }
    } catch (IOException e) {
      // The source closed under us (CloseIO, Kill) or the guest went away: either way, end of input.
    } finally {
      close();
    }
  }

  @Override
  public void close() {
    try {
      writeEnd.close();
    } catch (IOException ignored) {
      // nothing left to release
    }
    FileChannel in = sourceChannel;
    if (in != null) {
      try {
        in.close();
      } catch (IOException ignored) {
        // already closed
      }
    }
    try {
      Files.deleteIfExists(fifo);
    } catch (IOException ignored) {
      // the bundle is removed by containerd anyway
    }
  }
}
