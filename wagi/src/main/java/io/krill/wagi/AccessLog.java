package io.krill.wagi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;

/**
 * A container's access log, its stdout: one line per request ({@code GET /echo?x=1 200 3.1ms}).
 * Lines logged while another thread writes are gathered and written together by that thread, so a
 * busy container makes one write per batch instead of one per request (each a wake-up of whoever
 * reads the log), and a quiet one's line goes out at once. Lines wait only for a write in progress;
 * beyond {@link #MAX_PENDING} characters waiting (a reader that stopped reading) new lines are
 * dropped, never the requests.
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
    long tenths = Math.max(0, (System.nanoTime() - startNanos + 50_000) / 100_000);
    append(method + " " + uri + " " + status + " " + tenths / 10 + "." + tenths % 10 + "ms\n");
  }

  void append(String line) {
    synchronized (this) {
      if (pending.length() + line.length() <= MAX_PENDING) {
        pending.append(line);
      }
      if (writing) {
        return;
      }
      writing = true;
    }
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
