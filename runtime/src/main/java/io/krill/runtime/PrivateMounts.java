package io.krill.runtime;

import io.krill.oci.RuntimeSpec;
import io.krill.os.Mounts;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Mount propagation for bind mounts. A guest sees a bind mount through a preopen of a directory in
 * the daemon's own view of the file system, so by default it is a live view of the host path: what
 * the host mounts under it later shows in the guest, as with runc's default {@code rslave}, and
 * {@code rshared}/{@code rslave} get exactly that (a guest cannot mount, so nothing can propagate
 * the other way). A mount with {@code rprivate} (CRI's PROPAGATION_PRIVATE) must not see later host
 * mounts: its source is bound, recursively and then made private, at {@code <dir>/<container>/<n>},
 * and the guest's preopen is that copy. The copies are kept outside the bundle, so nothing that
 * deletes a bundle can walk into a host directory through them.
 */
final class PrivateMounts {
  private static final System.Logger LOG = System.getLogger("krill.runtime");

  /** The spec the guest runs with, and the directory holding this container's copies (or null). */
  record Made(RuntimeSpec spec, Path dir) {}

  private PrivateMounts() {}

  static Made make(String id, Path bundle, RuntimeSpec spec, Path root) {
    if (spec.mounts().stream().noneMatch(m -> m.isBind() && m.isPrivate())) {
      return new Made(spec, null);
    }
    Path dir = root.resolve(id);
    List<RuntimeSpec.Mount> out = new ArrayList<>();
    int n = 0;
    try {
      for (RuntimeSpec.Mount m : spec.mounts()) {
        if (!m.isBind() || !m.isPrivate() || m.source() == null || m.destination() == null) {
          out.add(m);
          continue;
        }
        Path source = bundle.resolve(m.source());
        if (!Files.isDirectory(source)) {
          out.add(m);
          continue;
        }
        Path copy = dir.resolve(Integer.toString(n++));
        try {
          Mounts.bindPrivate(source, copy);
        } catch (IOException e) {
          throw new KrillException(
              ErrorCode.FAILED_PRECONDITION,
              "container "
                  + id
                  + ": cannot give mount "
                  + m.destination()
                  + " (source "
                  + source
                  + ") the private propagation it asks for: "
                  + e.getMessage()
                  + "; run krill as root, or drop rprivate from the mount's options",
              e);
        }
        out.add(m.withSource(copy.toString()));
      }
    } catch (RuntimeException e) {
      release(id, dir);
      throw e;
    }
    return new Made(spec.withMounts(out), dir);
  }

  /** Detaches every copy under {@code dir}, then removes the (then empty) directories. */
  static void release(String id, Path dir) {
    if (dir == null || !Files.isDirectory(dir)) {
      return;
    }
    try (var list = Files.list(dir)) {
      for (Path copy : list.toList()) {
        Mounts.unmount(copy);
        Files.deleteIfExists(copy);
      }
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      LOG.log(
          Level.WARNING,
          "container {0}: cannot release its private mounts under {1}: {2}",
          id,
          dir,
          e.getMessage());
    }
  }

  /** At a daemon's start no guest is alive: detaches what a previous daemon left behind. */
  static void sweep(Path root) {
    if (!Files.isDirectory(root)) {
      return;
    }
    try (var list = Files.list(root)) {
      for (Path dir : list.toList()) {
        release(dir.getFileName().toString(), dir);
      }
    } catch (IOException e) {
      LOG.log(Level.WARNING, "cannot sweep private mounts under {0}: {1}", root, e.getMessage());
    }
  }
}
