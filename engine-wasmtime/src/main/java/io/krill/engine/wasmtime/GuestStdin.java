package io.krill.engine.wasmtime;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The guest's stdin, read by krill's own {@code fd_read} (the binding can only open stdin
 * write-only). Reading through a Java channel is also what lets Kill and CloseIO end a read that
 * blocks on containerd's FIFO: closing the channel wakes the reader with end-of-file.
 */
final class GuestStdin {
  private final Path source;
  private FileChannel channel;
  private boolean closed;

  GuestStdin(Path source) {
    this.source = source;
  }

  /** Reads up to {@code dst.remaining()} bytes; returns -1 at end of input or once closed. */
  int read(ByteBuffer dst) throws IOException {
    FileChannel ch;
    synchronized (this) {
      if (closed) {
        return -1;
      }
      if (channel == null) {
        // A FIFO's open blocks until a writer exists; containerd holds one, so this is quick.
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

  synchronized void close() {
    closed = true;
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException ignored) {
        // nothing more to release
      }
    }
  }
}
