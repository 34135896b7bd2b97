package io.krill.wasi;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A host directory or file the guest sees at {@code guestPath} (absolute). Directories are also
 * offered to the guest as preopens; a file (a bind mount such as {@code /etc/resolv.conf}) is
 * reached through the directory preopen that contains its guest path. Which of the two it is was
 * looked up once, when the mount was made.
 */
public record Mount(String guestPath, Path hostPath, boolean readOnly, boolean directory) {
  public Mount {
    if (!guestPath.startsWith("/")) {
      throw new IllegalArgumentException("guest path must be absolute: " + guestPath);
    }
  }

  /** A mount of whatever {@code hostPath} is now (a directory, or anything else). */
  public Mount(String guestPath, Path hostPath, boolean readOnly) {
    this(guestPath, hostPath, readOnly, Files.isDirectory(hostPath));
  }
}
