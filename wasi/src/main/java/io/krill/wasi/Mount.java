package io.krill.wasi;

import java.nio.file.Path;

/**
 * A host directory or file the guest sees at {@code guestPath} (absolute). Directories are also
 * offered to the guest as preopens; a file (a bind mount such as {@code /etc/resolv.conf}) is
 * reached through the directory preopen that contains its guest path.
 */
public record Mount(String guestPath, Path hostPath, boolean readOnly) {
  public Mount {
    if (!guestPath.startsWith("/")) {
      throw new IllegalArgumentException("guest path must be absolute: " + guestPath);
    }
  }
}
