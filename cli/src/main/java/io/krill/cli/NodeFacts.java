package io.krill.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** Small probes of the running machine for {@code krill doctor}. */
final class NodeFacts {
  private NodeFacts() {}

  static String uid() {
    try {
      return Files.readAllLines(Path.of("/proc/self/status")).stream()
          .filter(l -> l.startsWith("Uid:"))
          .map(l -> l.split("\\s+")[1])
          .findFirst()
          .orElse("?");
    } catch (IOException e) {
      return "?";
    }
  }

  /**
   * containerd looks its shims up on its own PATH; /usr/local/bin is on every distribution's
   * default.
   */
  static Optional<Path> onPath(String name, Node node, Map<String, String> env) {
    if (Files.isExecutable(node.binDir().resolve(name))) {
      return Optional.of(node.binDir().resolve(name));
    }
    for (String dir : env.getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
        return Optional.of(Path.of(dir, name));
      }
    }
    return Optional.empty();
  }

  /** null when the library loads, else why not. */
  static String tryLoad(Path lib) {
    if (!Files.exists(lib)) {
      return lib + " is missing";
    }
    try {
      System.load(lib.toString());
      return null;
    } catch (UnsatisfiedLinkError e) {
      return "cannot load " + lib + ": " + e.getMessage();
    }
  }

  static String runDirState(Path dir) {
    if (!Files.exists(dir)) {
      Path parent = dir.getParent();
      return parent != null && Files.isWritable(parent)
          ? "ok: " + dir + " will be created by the first shim start"
          : dir + " is missing and " + parent + " is not writable";
    }
    if (!Files.isDirectory(dir) || !Files.isWritable(dir)) {
      return dir + " is not a writable directory";
    }
    Path shims = dir.resolve("shim");
    long daemons = 0;
    if (Files.isDirectory(shims)) {
      try (var s = Files.list(shims)) {
        daemons = s.count();
      } catch (IOException e) {
        return "cannot list " + shims + ": " + e.getMessage();
      }
    }
    return "ok: " + dir + " (" + daemons + " daemon dir(s); logs in " + shims + "/*/daemon.log)";
  }

  static boolean isSocket(Path p) {
    try {
      return Files.exists(p)
          && Files.getAttribute(p, "unix:mode") instanceof Integer m
          && (m & 0170000) == 0140000;
    } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
      return false;
    }
  }

  static String cgroupVersion() {
    return Files.exists(Path.of("/sys/fs/cgroup/cgroup.controllers")) ? "v2 (unified)" : "v1";
  }
}
