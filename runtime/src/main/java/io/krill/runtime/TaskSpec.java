package io.krill.runtime;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What containerd asks for in Create: the bundle (holding config.json), the snapshot mounts that
 * make up the root filesystem, and the stdio paths (FIFOs; empty or null means "none").
 */
public record TaskSpec(
    String id, Path bundle, List<RootfsMount> rootfs, String stdin, String stdout, String stderr,
    boolean terminal) {

  public TaskSpec {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(bundle, "bundle");
    if (id.isEmpty()) {
      throw new KrillException(ErrorCode.INVALID_ARGUMENT, "task id must not be empty");
    }
    rootfs = rootfs == null ? List.of() : List.copyOf(rootfs);
    stdin = emptyToNull(stdin);
    stdout = emptyToNull(stdout);
    stderr = emptyToNull(stderr);
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }

  /** One snapshot mount from containerd, e.g. overlay with lowerdir/upperdir options, or a bind. */
  public record RootfsMount(String type, String source, List<String> options) {
    public RootfsMount {
      options = options == null ? List.of() : List.copyOf(options);
    }
  }
}
