package io.krill.daemon;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.logging.Handler;
import java.util.logging.LogRecord;

/**
 * The daemon log with size-based rotation: {@code daemon.log} is renamed to {@code daemon.log.1}
 * (replacing the previous one) once it passes {@code maxBytes}, so a long-lived daemon on a busy
 * node keeps at most about twice that on disk. java.util.logging's FileHandler is not used because
 * it insists on its own lock files and numbered names next to the log.
 */
public final class RotatingLog extends Handler {
  private final Path path;
  private final long maxBytes;
  private FileChannel channel;

  public RotatingLog(Path path, long maxBytes) {
    this.path = path;
    this.maxBytes = maxBytes;
  }

  @Override
  public void publish(LogRecord record) {
    if (!isLoggable(record)) {
      return;
    }
    write(getFormatter().format(record).getBytes(StandardCharsets.UTF_8));
  }

  synchronized void write(byte[] line) {
    try {
      if (channel == null) {
        channel = open();
      }
      if (maxBytes > 0 && channel.size() + line.length > maxBytes && channel.size() > 0) {
        channel.close();
        Files.move(path, LogFormat.rotatedPath(path), StandardCopyOption.REPLACE_EXISTING);
        channel = open();
      }
      ByteBuffer b = ByteBuffer.wrap(line);
      while (b.hasRemaining()) {
        channel.write(b);
      }
    } catch (IOException e) {
      reportError("cannot write " + path, e, 0);
    }
  }

  private FileChannel open() throws IOException {
    // Append: the launcher holds the same file open for our stdio and writes to it too.
    return FileChannel.open(
        path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
  }

  /** A stream into the same rotation, flushed per line. */
  public PrintStream printStream() {
    OutputStream out =
        new OutputStream() {
          private final ByteArrayOutputStream pending = new ByteArrayOutputStream();

          @Override
          public synchronized void write(int b) {
            pending.write(b);
            if (b == '\n') {
              flush();
            }
          }

          @Override
          public synchronized void flush() {
            if (pending.size() > 0) {
              RotatingLog.this.write(pending.toByteArray());
              pending.reset();
            }
          }
        };
    return new PrintStream(out, true, StandardCharsets.UTF_8);
  }

  @Override
  public void flush() {}

  @Override
  public synchronized void close() {
    try {
      if (channel != null) {
        channel.close();
      }
    } catch (IOException e) {
      reportError("cannot close " + path, e, 0);
    }
  }
}
