package io.krill.wagi;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;

/**
 * The container's stderr as each request's guest sees it: writes go through, a close (a guest's, or
 * its WASI's at its end) is ignored, a failed write is dropped rather than failing the guest.
 */
final class SharedOutput implements WritableByteChannel {
  private final WritableByteChannel target;

  SharedOutput(WritableByteChannel target) {
    this.target = target;
  }

  @Override
  public int write(ByteBuffer src) {
    int n = src.remaining();
    try {
      synchronized (target) {
        while (src.hasRemaining()) {
          target.write(src);
        }
      }
    } catch (IOException e) {
      src.position(src.limit());
    }
    return n;
  }

  @Override
  public boolean isOpen() {
    return true;
  }

  @Override
  public void close() {}
}
