package io.krill.runtime;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * What a front door asks for in Create: the bundle (holding config.json), the snapshot mounts that
 * make up the root filesystem, the stdio, what kind of task it is, and where the module comes from
 * when the rootfs has none (an image's wasm layer).
 */
public record TaskSpec(
    String id, Path bundle, List<RootfsMount> rootfs, Stdio stdio, Kind kind, ImageModules images) {

  /**
   * What runs: a wasm guest, or a pod's sandbox, which holds the pod's namespaces and runs no wasm.
   */
  public enum Kind {
    WASM,
    POD_SANDBOX
  }

  public TaskSpec {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(bundle, "bundle");
    if (id.isEmpty()) {
      throw new KrillException(ErrorCode.INVALID_ARGUMENT, "task id must not be empty");
    }
    rootfs = rootfs == null ? List.of() : List.copyOf(rootfs);
    stdio = stdio == null ? Stdio.NONE : stdio;
    kind = kind == null ? Kind.WASM : kind;
    images = images == null ? ImageModules.NONE : images;
  }

  /** A wasm task whose module is in its rootfs. */
  public TaskSpec(String id, Path bundle, List<RootfsMount> rootfs, Stdio stdio) {
    this(id, bundle, rootfs, stdio, Kind.WASM, ImageModules.NONE);
  }

  /** One snapshot mount from containerd, e.g. overlay with lowerdir/upperdir options, or a bind. */
  public record RootfsMount(String type, String source, List<String> options) {
    public RootfsMount {
      options = options == null ? List.of() : List.copyOf(options);
    }
  }
}
