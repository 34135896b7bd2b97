package io.krill.cli;

import java.nio.file.Path;

/**
 * Where krill lives on a node whose filesystem root is {@code root} ({@code /}, or {@code /host}
 * from the node-installer pod). Paths inside the node are kept relative to root so that links
 * written from a pod still resolve on the host.
 */
record Node(Path root, Path containerdConfig) {
  static final String SHIM = "containerd-shim-krill-v1";

  /** The same launcher under the krill-isolated runtime's name (a link to {@link #SHIM}). */
  static final String ISOLATED_SHIM = "containerd-shim-krill-isolated-v1";

  static final String UNIT = "krill@.service";

  static Node of(Path root, Path configOrNull) {
    Path r = root.toAbsolutePath().normalize();
    return new Node(
        r,
        configOrNull != null
            ? configOrNull.toAbsolutePath().normalize()
            : r.resolve("etc/containerd/config.toml"));
  }

  Path installTree() {
    return root.resolve("opt/krill");
  }

  Path binDir() {
    return root.resolve("usr/local/bin");
  }

  Path shimLink() {
    return binDir().resolve(SHIM);
  }

  Path isolatedShimLink() {
    return binDir().resolve(ISOLATED_SHIM);
  }

  Path cliLink() {
    return binDir().resolve("krill");
  }

  Path krillConfig() {
    return root.resolve("etc/krill/config.toml");
  }

  /**
   * krill's systemd template unit; instances ({@code krill@k8s.io}) are enabled by the operator.
   */
  Path systemdUnit() {
    return root.resolve("etc/systemd/system").resolve(UNIT);
  }

  Path backup() {
    return containerdConfig.resolveSibling(containerdConfig.getFileName() + ".krill-backup");
  }
}
