package io.krill.wasi;

import java.nio.ByteBuffer;

/** A stdin that is all there from the start (a request's body), then end-of-file. */
public final class BytesStdin implements Stdin {
  private final ByteBuffer bytes;

  public BytesStdin(byte[] bytes) {
    this.bytes = ByteBuffer.wrap(bytes);
  }

  @Override
  public synchronized int read(ByteBuffer dst) {
    if (!bytes.hasRemaining()) {
      return -1;
    }
    int n = Math.min(dst.remaining(), bytes.remaining());
    ByteBuffer slice = bytes.slice();
    slice.limit(n);
    dst.put(slice);
    bytes.position(bytes.position() + n);
    return n;
  }

  @Override
  public boolean ready() {
    return true;
  }
}
