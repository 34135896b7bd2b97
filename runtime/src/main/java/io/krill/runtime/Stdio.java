package io.krill.runtime;

import java.nio.file.Path;

/**
 * A process's stdio as its front door names it: FIFO or file paths, or {@code fifo://} / {@code
 * file://} URIs (empty or null = none), and whether a terminal was asked for.
 *
 * <p>A terminal has one output stream: the guest's stderr goes to its stdout, as on a pty, even
 * when a stderr FIFO is named (containerd's CRI creates one for a tty exec but never reads it).
 * There is no line discipline: no echo, no CR/LF translation, and the guest is not told it has a
 * terminal (a WASI preview 1 guest cannot ask for its size either).
 */
public record Stdio(String stdin, String stdout, String stderr, boolean terminal) {
  public static final Stdio NONE = new Stdio(null, null, null, false);

  public Stdio {
    stdin = emptyToNull(stdin);
    stdout = emptyToNull(stdout);
    stderr = emptyToNull(stderr);
  }

  /**
   * The host files behind the three names, as the guest gets them (with a terminal, stderr is
   * stdout, whatever stderr was named); {@code binary://} logging is refused.
   */
  Files files(String containerId) {
    Path out = path(containerId, stdout);
    Path err = path(containerId, stderr);
    return new Files(path(containerId, stdin), out, terminal ? out : err);
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
