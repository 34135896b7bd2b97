package io.krill.wagi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * A container's access log, its stdout: one line per request ({@code GET /echo?x=1 200 3.1ms}).
 * Lines logged while another thread writes are gathered and written together by that thread, so a
 * busy container makes one write per batch instead of one per request (each a wake-up of whoever
 * reads the log), and a quiet one's line goes out at once. Lines wait only for a write in progress;
 * beyond {@link #MAX_PENDING} characters waiting (a reader that stopped reading) new lines are
 * dropped, never the requests. The event loop never writes: see {@link #logLater}.
 */
final class AccessLog {
  static final int MAX_PENDING = 1 << 20;

  private final WritableByteChannel out;
  private final StringBuilder pending = new StringBuilder();
  private boolean writing;

  AccessLog(WritableByteChannel out) {
    this.out = out;
  }

  /** Logs a request that began at {@code startNanos} ({@link System#nanoTime}) and ends now. */
  void log(String method, String uri, int status, long startNanos) {
    append(line(method, uri, status, startNanos));
  }

  /**
   * Logs like {@link #log}, from a thread that must never wait for the log's reader (the event loop
   * every WAGI container of the daemon shares): the write is left to {@code writer}, or, if it
   * takes no more work, to whoever logs next (a full pool has requests in flight, each of which
   * logs).
   */
  void logLater(String method, String uri, int status, long startNanos, Executor writer) {
    if (!enqueue(line(method, uri, status, startNanos))) {
      return;
    }
    try {
      writer.execute(this::drain);
    } catch (RejectedExecutionException e) {
      synchronized (this) {
        writing = false;
      }
    }
  }

  /**
   * Writes what is still pending, once nothing else can be writing: after the pool given to {@link
   * #logLater} has ended, perhaps dropping the write it had been given.
   */
  void flush() {
    synchronized (this) {
      writing = true;
    }
    drain();
  }

  void append(String line) {
    if (enqueue(line)) {
      drain();
    }
  }

  private static String line(String method, String uri, int status, long startNanos) {
    long tenths = Math.max(0, (System.nanoTime() - startNanos + 50_000) / 100_000);
    return method + " " + uri + " " + status + " " + tenths / 10 + "." + tenths % 10 + "ms\n";
  }

  /** Adds a line; true if the caller is now the writer and must {@link #drain}. */
  private synchronized boolean enqueue(String line) {
    if (pending.length() + line.length() <= MAX_PENDING) {
      pending.append(line);
    }
    if (writing) {
      return false;
    }
    writing = true;
    return true;
  }

  /** Writes what is pending, and what comes meanwhile, until nothing is. */
  private void drain() {
    while (true) {
      byte[] batch;
      synchronized (this) {
        if (pending.length() == 0) {
          writing = false;
          return;
        }
        batch = pending.toString().getBytes(StandardCharsets.UTF_8);
        pending.setLength(0);
      }
      try {
        ByteBuffer b = ByteBuffer.wrap(batch);
        while (b.hasRemaining()) {
          out.write(b);
        }
      } catch (IOException | RuntimeException e) {
        // the log's reader is gone; the requests were still answered
      }
    }
  }
}
