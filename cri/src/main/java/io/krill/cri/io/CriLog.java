package io.krill.cri.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.format.DateTimeFormatter;

/**
 * One container's log in the CRI format kubelet reads: {@code <RFC3339Nano> <stdout|stderr> <P|F>
 * <text>\n}. A line longer than {@code maxLine} bytes is written in pieces tagged P and ended by
 * one tagged F, so a guest printing without newlines cannot make krill buffer without bound. stdout
 * and stderr pump into the same file; writes are whole records so their lines never interleave
 * mid-record.
 */
final class CriLog {
  static final int DEFAULT_MAX_LINE = 16 * 1024;

  private final OutputStream out;
  private final Clock clock;
  private final int maxLine;

  CriLog(OutputStream out, Clock clock, int maxLine) {
    if (maxLine <= 0) {
      throw new IllegalArgumentException("maxLine must be positive");
    }
    this.out = out;
    this.clock = clock;
    this.maxLine = maxLine;
  }

  /**
   * Copies {@code in} to the log until EOF; a last line without a newline is written as full (F).
   */
  void pump(String stream, InputStream in) throws IOException {
    byte[] line = new byte[maxLine];
    int len = 0;
    byte[] buf = new byte[8192];
    int n;
    while ((n = in.read(buf)) > 0) {
      for (int i = 0; i < n; i++) {
        byte b = buf[i];
        if (b == '\n') {
          record(stream, false, line, len);
          len = 0;
        } else {
          line[len++] = b;
          if (len == maxLine) {
            record(stream, true, line, len);
            len = 0;
          }
        }
      }
    }
    if (len > 0) {
      record(stream, false, line, len);
    }
  }

  synchronized void record(String stream, boolean partial, byte[] text, int len)
      throws IOException {
    String head =
        DateTimeFormatter.ISO_INSTANT.format(clock.instant())
            + " "
            + stream
            + (partial ? " P " : " F ");
    byte[] h = head.getBytes(StandardCharsets.US_ASCII);
    byte[] rec = new byte[h.length + len + 1];
    System.arraycopy(h, 0, rec, 0, h.length);
    System.arraycopy(text, 0, rec, h.length, len);
    rec[rec.length - 1] = '\n';
    out.write(rec);
    out.flush();
  }
}
