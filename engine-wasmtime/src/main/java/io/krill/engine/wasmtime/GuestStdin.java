package io.krill.engine.wasmtime;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The guest's stdin, read by krill's own {@code fd_read} (the binding can only open stdin
 * write-only). Reading through a Java channel is also what lets Kill and CloseIO end a read that
 * blocks on containerd's FIFO: closing the channel wakes the reader with end-of-file.
 *
 * <p>The FIFO is opened for reading as soon as the guest starts, whether or not the guest ever
 * reads it, as runc's shim does: containerd's writer (a CRI exec, {@code ctr task exec}) blocks in
 * its open until a reader exists, and would otherwise wait forever for a guest that exits without
 * reading, holding the exec open after the guest has gone. Closing at the guest's exit then ends
 * containerd's copy with a broken pipe.
 */
final class GuestStdin {
  private final Path source;
  private FileChannel channel;
  private IOException failure;
  private Thread opener;
  private boolean closed;

  GuestStdin(Path source) {
    this.source = source;
  }

  /**
   * Opens the source for reading on a thread of its own: opening a FIFO blocks until a writer
   * exists (containerd's usually does already), and the guest must not wait for that.
   */
  synchronized void open(String name) {
    if (closed || opener != null || channel != null) {
      return;
    }
    Thread t = new Thread(null, this::openNow, "stdin-open-" + name, 64 << 10);
    t.setDaemon(true);
    opener = t;
    t.start();
  }

  private void openNow() {
    FileChannel ch = null;
    IOException error = null;
    try {
      ch = FileChannel.open(source, StandardOpenOption.READ);
    } catch (IOException e) {
      error = e;
    }
    synchronized (this) {
      opener = null;
      if (closed) {
        closeQuietly(ch);
      } else {
        channel = ch;
        failure = error;
      }
      notifyAll();
    }
  }

  /** Reads up to {@code dst.remaining()} bytes; returns -1 at end of input or once closed. */
  int read(ByteBuffer dst) throws IOException {
    FileChannel ch;
    synchronized (this) {
      while (!closed && channel == null && failure == null && opener != null) {
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while opening stdin");
        }
      }
      if (closed) {
        return -1;
      }
      if (failure != null) {
        throw failure;
      }
      if (channel == null) {
        // Never opened in the background (a guest run without open()): open it here.
        channel = FileChannel.open(source, StandardOpenOption.READ);
      }
      ch = channel;
    }
    try {
      return ch.read(dst);
    } catch (ClosedChannelException e) {
      return -1;
    }
  }

  void close() {
    boolean wakeOpener;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      closeQuietly(channel);
      channel = null;
      wakeOpener = opener != null;
      notifyAll();
    }
    if (wakeOpener) {
      // The opener waits in open(2) for a writer that may never come; opening the FIFO read-write
      // (which never blocks) is a writer, and the woken opener sees `closed` and lets go.
      try (FileChannel unblock =
          FileChannel.open(source, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
        // opened and closed: that is all it takes
      } catch (IOException | UnsupportedOperationException ignored) {
        // a source that cannot be opened so: the opener is not waiting for a writer
      }
    }
  }

  private static void closeQuietly(FileChannel ch) {
    if (ch != null) {
      try {
        ch.close();
      } catch (IOException ignored) {
        // nothing more to release
      }
    }
  }
}
