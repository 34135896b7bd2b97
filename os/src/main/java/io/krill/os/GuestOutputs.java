package io.krill.os;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;

/**
 * A guest's stdout and stderr as every engine opens them: a file (a log) is appended to, never
 * truncated; a FIFO (containerd's) is opened read-write, which never waits for a reader that may
 * never come, and kept open after the guest until a reader has drained it ({@link Fifos}).
 */
public final class GuestOutputs {
  /**
   * How long a stdout or stderr FIFO is kept open after the guest for a reader to take its bytes.
   */
  public static final long LINGER_MILLIS = 10_000;

  private final Map<FileChannel, Path> outputs = new HashMap<>();
  private WritableByteChannel stderr;

  /** Opens the guest's stdout; null for none. */
  public WritableByteChannel stdout(Path path) throws IOException {
    return path == null ? null : open(path);
  }

  /** Opens the guest's stderr, where {@link #reportOnStderr} writes; null for none. */
  public WritableByteChannel stderr(Path path) throws IOException {
    WritableByteChannel ch = path == null ? null : open(path);
    synchronized (outputs) {
      stderr = ch;
    }
    return ch;
  }

  private WritableByteChannel open(Path path) throws IOException {
    FileChannel ch;
    if (!Files.exists(path) || Files.isRegularFile(path)) {
      ch =
          FileChannel.open(
              path, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
    } else {
      ch = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }
    synchronized (outputs) {
      outputs.put(ch, path);
    }
    return ch;
  }

  /**
   * At the guest's end: a FIFO stays open until a reader has taken what it holds (containerd's may
   * come after the guest has gone), a file is closed.
   */
  public void linger() {
    synchronized (outputs) {
      outputs.forEach((ch, path) -> Fifos.closeOnceDrained(ch, path, LINGER_MILLIS));
      outputs.clear();
    }
  }

  /** Kill: closed at once, which also ends a write blocked on a full pipe. */
  public void closeNow() {
    synchronized (outputs) {
      for (FileChannel c : outputs.keySet()) {
        try {
          c.close();
        } catch (IOException ignored) {
          // nothing more to release
        }
      }
      outputs.clear();
    }
  }

  /** What Wasmtime's CLI prints for an exit status it refuses, on the guest's stderr. */
  public void reportOnStderr(String message) {
    WritableByteChannel ch;
    synchronized (outputs) {
      ch = stderr;
    }
    if (ch == null) {
      return;
    }
    try {
      ch.write(ByteBuffer.wrap(("Error: " + message + "\n").getBytes(StandardCharsets.UTF_8)));
    } catch (IOException ignored) {
      // closed by a kill: the exit status still says it
    }
  }
}
