package io.krill.runtime;

import java.nio.file.Path;

/**
 * A process's stdio as its front door names it: FIFO or file paths, or {@code fifo://} / {@code
 * file://} URIs (empty or null = none), and whether a terminal was asked for (krill refuses one).
 */
public record Stdio(String stdin, String stdout, String stderr, boolean terminal) {
  public static final Stdio NONE = new Stdio(null, null, null, false);

  public Stdio {
    stdin = emptyToNull(stdin);
    stdout = emptyToNull(stdout);
    stderr = emptyToNull(stderr);
  }

  /** The host files behind the three names; {@code binary://} logging is refused. */
  Files files(String containerId) {
    return new Files(
        path(containerId, stdin), path(containerId, stdout), path(containerId, stderr));
  }

  /** Host paths of a process's stdio, null = none. */
  record Files(Path stdin, Path stdout, Path stderr) {}

  private static Path path(String containerId, String uri) {
    if (uri == null) {
      return null;
    }
    if (uri.startsWith("binary://")) {
      throw ModuleLoader.invalid(
          containerId, "binary:// logging is not supported by krill; use fifo or file stdio");
    }
    String p =
        uri.startsWith("file://")
            ? uri.substring(7)
            : uri.startsWith("fifo://") ? uri.substring(7) : uri;
    return Path.of(p);
  }

  private static String emptyToNull(String s) {
    return s == null || s.isEmpty() ? null : s;
  }
}
