package io.krill.os;

import com.sun.jna.Native;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** mount(2)/umount2(2) for the snapshot mounts containerd hands to Create. */
public final class Mounts {
  private static final long MS_RDONLY = 1;
  private static final long MS_NOSUID = 2;
  private static final long MS_NODEV = 4;
  private static final long MS_NOEXEC = 8;
  private static final long MS_REMOUNT = 32;
  private static final long MS_BIND = 4096;
  private static final long MS_REC = 16384;
  private static final long MS_PRIVATE = 1L << 18;
  private static final int MNT_DETACH = 2;
  private static final int EINVAL = 22;
  private static final int ENOENT = 2;

  private Mounts() {}

  /** Mounts {@code type/source} with containerd-style options at {@code target}. */
  public static void mount(String type, String source, List<String> options, Path target)
      throws IOException {
    long flags = 0;
    List<String> data = new ArrayList<>();
    for (String o : options) {
      switch (o) {
        case "ro" -> flags |= MS_RDONLY;
        case "rw" -> flags &= ~MS_RDONLY;
        case "bind" -> flags |= MS_BIND;
        case "rbind" -> flags |= MS_BIND | MS_REC;
        case "nosuid" -> flags |= MS_NOSUID;
        case "nodev" -> flags |= MS_NODEV;
        case "noexec" -> flags |= MS_NOEXEC;
        case "suid", "dev", "exec", "defaults" -> {}
        default -> data.add(o);
      }
    }
    boolean bind = (flags & MS_BIND) != 0 || "bind".equals(type);
    if (bind) {
      flags |= MS_BIND;
    }
    String fstype = bind ? null : type;
    String dataString = data.isEmpty() ? null : String.join(",", data);
    Files.createDirectories(target);
    if (LibC.INSTANCE.mount(
            source,
            target.toString(),
            fstype,
            flags & ~MS_RDONLY | (bind ? 0 : flags & MS_RDONLY),
            dataString)
        != 0) {
      int errno = Native.getLastError();
      throw new IOException(
          "mount "
              + type
              + " "
              + source
              + " on "
              + target
              + " failed: errno "
              + errno
              + " ("
              + describe(errno)
              + ")");
    }
    // A bind mount ignores MS_RDONLY on the first call; read-only needs a remount.
    if (bind
        && (flags & MS_RDONLY) != 0
        && LibC.INSTANCE.mount(
                null, target.toString(), null, MS_BIND | MS_REMOUNT | MS_RDONLY, null)
            != 0) {
      int errno = Native.getLastError();
      unmount(target);
      throw new IOException("read-only remount of " + target + " failed: errno " + errno);
    }
  }

  /**
   * Binds {@code source} (with everything mounted under it) at {@code target} and makes the copy
   * recursively private: what is mounted or unmounted under {@code source} afterwards does not
   * reach {@code target}, while files written in it are the same files.
   */
  public static void bindPrivate(Path source, Path target) throws IOException {
    Files.createDirectories(target);
    if (LibC.INSTANCE.mount(source.toString(), target.toString(), null, MS_BIND | MS_REC, null)
        != 0) {
      int errno = Native.getLastError();
      throw new IOException(
          "bind mount "
              + source
              + " on "
              + target
              + " failed: errno "
              + errno
              + " ("
              + describe(errno)
              + ")");
    }
    if (LibC.INSTANCE.mount(null, target.toString(), null, MS_PRIVATE | MS_REC, null) != 0) {
      int errno = Native.getLastError();
      unmount(target);
      throw new IOException(
          "making " + target + " private failed: errno " + errno + " (" + describe(errno) + ")");
    }
  }

  /** Lazily detaches whatever is mounted at {@code target}; not being mounted is not an error. */
  public static void unmount(Path target) throws IOException {
    if (LibC.INSTANCE.umount2(target.toString(), MNT_DETACH) != 0) {
      int errno = Native.getLastError();
      if (errno != EINVAL && errno != ENOENT) {
        throw new IOException(
            "unmount " + target + " failed: errno " + errno + " (" + describe(errno) + ")");
      }
    }
  }

  public static void mkfifo(Path path) throws IOException {
    if (LibC.INSTANCE.mkfifo(path.toString(), 0600) != 0) {
      throw new IOException("mkfifo " + path + " failed: errno " + Native.getLastError());
    }
  }

  private static String describe(int errno) {
    return switch (errno) {
      case 1 -> "operation not permitted: krill must run as root to mount container filesystems";
      case 2 -> "no such file or directory";
      case 16 -> "busy";
      case 19 -> "filesystem type not supported by the kernel";
      case 22 -> "invalid argument";
      default -> "see errno(3)";
    };
  }
}
