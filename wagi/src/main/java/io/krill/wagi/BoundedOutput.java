package io.krill.wagi;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/** A guest's stdout for one response, in memory, refusing to grow past a limit. */
final class BoundedOutput implements WritableByteChannel {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final long limit;
  private volatile boolean overflowed;

  BoundedOutput(long limit) {
    this.limit = limit;
  }

  @Override
  public synchronized int write(ByteBuffer src) throws IOException {
    int n = src.remaining();
    if (bytes.size() + (long) n > limit) {
      overflowed = true;
      throw new IOException("a response is limited to " + limit + " bytes");
    }
    byte[] b = new byte[n];
    src.get(b);
    bytes.write(b, 0, n);
    return n;
  }

  boolean overflowed() {
    return overflowed;
  }

  synchronized byte[] toByteArray() {
    return bytes.toByteArray();
  }

  @Override
  public boolean isOpen() {
    return true;
  }

  @Override
  public void close() {}
}
