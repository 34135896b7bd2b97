package io.krill.engine;

import java.nio.channels.WritableByteChannel;
import java.util.Objects;

/**
 * A guest's stdio held in memory rather than at paths (an instance per request): all of its stdin
 * at once, and the channels its stdout and stderr are written to (stderr may be null for none).
 */
public record GuestIo(byte[] stdin, WritableByteChannel stdout, WritableByteChannel stderr) {
  public GuestIo {
    Objects.requireNonNull(stdin);
    Objects.requireNonNull(stdout);
  }
}
