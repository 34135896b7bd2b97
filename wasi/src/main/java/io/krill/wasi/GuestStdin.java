package io.krill.wasi;

import java.io.FileInputStream;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The guest's stdin, read by krill's WASI {@code fd_read} and polled by its {@code poll_oneoff}
 * (readiness from the bytes the pipe holds, {@code FIONREAD} through {@link
 * FileInputStream#available()}). Reading through a Java channel is also what lets Kill and CloseIO
 * end a read that blocks on containerd's FIFO: closing the channel wakes the reader with
 * end-of-file.
 *
 * <p>The FIFO is opened for reading as soon as the guest starts, whether or not the guest ever
 * reads it, as runc's shim does: containerd's writer (a CRI exec, {@code ctr task exec}) blocks in
 * its open until a reader exists, and would otherwise wait forever for a guest that exits without
 * reading, holding the exec open after the guest has gone. Closing at the guest's exit then ends
 * containerd's copy with a broken pipe.
 *
 * <p>CloseIO ({@link #endInput()}) ends the input after what has already been written: containerd
 * (and {@code ctr}) may send it before they close their end, with the input still in the pipe. From
 * then on a read returns what the pipe holds at once, and one that finds the pipe empty and still
 * waits after {@link #END_GRACE_MILLIS} is ended with end-of-file.
 */
public final class GuestStdin implements Stdin {
  /** How long {@link #close} waits for an opener it woke to let go of the end it opened. */
  private static final long OPENER_JOIN_MILLIS = 1000;

  /** How long a read after CloseIO may wait on an empty pipe whose writer is still open. */
  public static final long END_GRACE_MILLIS = 100;

  private static final ScheduledExecutorService ENDER =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "stdin-ender");
            t.setDaemon(true);
            return t;
          });

  private final Path source;
  private FileChannel channel;
  private FileInputStream input;
  private IOException failure;
  private Thread opener;
  private boolean closed;
  private boolean ending;
  private int reading;

  public GuestStdin(Path source) {
    this.source = source;
  }

  /**
   * Opens the source for reading on a thread of its own: opening a FIFO blocks until a writer
   * exists (containerd's usually does already), and the guest must not wait for that.
   */
  public synchronized void open(String name) {
    if (closed || opener != null || channel != null) {
      return;
    }
    Thread t = new Thread(null, this::openNow, "stdin-open-" + name, 64 << 10);
    t.setDaemon(true);
    opener = t;
    t.start();
  }

  private void openNow() {
    FileInputStream in = null;
    IOException error = null;
    try {
      in = new FileInputStream(source.toFile());
    } catch (IOException e) {
      error = e;
    }
    synchronized (this) {
      opener = null;
      if (closed) {
        closeQuietly(in == null ? null : in.getChannel());
      } else {
        input = in;
        channel = in == null ? null : in.getChannel();
        failure = error;
      }
      notifyAll();
    }
  }

  /**
   * Whether a read returns at once: input is in the pipe, or the input has ended (CloseIO, kill,
   * exit, a failed open).
   */
  @Override
  public synchronized boolean ready() {
    if (closed || ending || failure != null) {
      return true;
    }
    if (input == null) {
      return false;
    }
    try {
      return input.available() > 0;
    } catch (IOException e) {
      return true;
    }
  }

  /** Reads up to {@code dst.remaining()} bytes; returns -1 at end of input or once closed. */
  @Override
  public int read(ByteBuffer dst) throws IOException {
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
        input = new FileInputStream(source.toFile());
        channel = input.getChannel();
      }
      ch = channel;
      reading++;
      if (ending) {
        scheduleEnd();
      }
    }
    try {
      return ch.read(dst);
    } catch (ClosedChannelException e) {
      return -1;
    } finally {
      synchronized (this) {
        reading--;
      }
    }
  }

  /**
   * Ends the input (CloseIO): what the pipe already holds is still read, then end-of-file; a read
   * waiting on an empty pipe is ended within {@link #END_GRACE_MILLIS}.
   */
  public void endInput() {
    synchronized (this) {
      if (closed || ending) {
        return;
      }
      // A writer that sent CloseIO has opened the FIFO, so an open in progress is about to return:
      // let it, or the input it wrote would be thrown away.
      long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(END_GRACE_MILLIS);
      long left;
      while (opener != null
          && !closed
          && (left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())) > 0) {
        try {
          wait(left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      if (closed) {
        return;
      }
      if (channel != null) {
        ending = true;
        if (reading > 0) {
          scheduleEnd();
        }
        // Else nothing waits now; each later read schedules its own end (see read).
        return;
      }
    }
    // Not open (yet): the writer is gone or never came, so the pipe holds nothing for us.
    close();
  }

  /** Reads in progress (for tests). */
  synchronized int readers() {
    return reading;
  }

  /** Closes the channel if a read still waits after the grace, i.e. the pipe stayed empty. */
  private void scheduleEnd() {
    ENDER.schedule(
        () -> {
          synchronized (this) {
            if (reading == 0) {
              return;
            }
          }
          close();
        },
        END_GRACE_MILLIS,
        TimeUnit.MILLISECONDS);
  }

  /**
   * Kill and exit: closed at once, a read in progress ends with end-of-file. When it returns, the
   * guest holds no reading end any more (a writer then gets a broken pipe), unless its opener was
   * not scheduled for over a second.
   */
  public void close() {
    Thread wakeOpener;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      closeQuietly(channel);
      channel = null;
      input = null;
      wakeOpener = opener;
      notifyAll();
    }
    if (wakeOpener != null) {
      // The opener waits in open(2) for a writer that may never come, or is about to. The FIFO
      // opened read-write (which never blocks) is a writer for as long as it is held: held until
      // the opener has let go of its end, an opener that reaches open(2) only now still returns
      // at once, sees `closed` and closes what it opened.
      FileChannel unblock = null;
      try {
        unblock = FileChannel.open(source, StandardOpenOption.READ, StandardOpenOption.WRITE);
      } catch (IOException | UnsupportedOperationException ignored) {
        // a source that cannot be opened so: the opener is not waiting for a writer
      }
      try {
        wakeOpener.join(OPENER_JOIN_MILLIS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        closeQuietly(unblock);
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
