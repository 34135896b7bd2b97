package io.krill.wasi;

import java.io.IOException;
import java.nio.ByteBuffer;

/** The guest's standard input, as krill serves it (containerd's FIFO, CloseIO, kill). */
public interface Stdin {
  /** Reads up to {@code dst.remaining()} bytes, blocking until some exist; -1 at end of input. */
  int read(ByteBuffer dst) throws IOException;

  /** Whether a read would return at once (input buffered, or end of input). */
  boolean ready();
}
