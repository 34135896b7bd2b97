package io.krill.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/** The node's containerd executable and its {@code --version}. */
record ContainerdBinary(Path path, String version) {
  /** {@code --containerd}, else the first containerd under root's usual bin dirs, else on PATH. */
  static Optional<ContainerdBinary> find(
      Optional<String> explicit, Node node, Map<String, String> env) {
    if (explicit.isPresent()) {
      return Optional.of(probe(Path.of(explicit.get())));
    }
    for (String dir : List.of("usr/local/bin", "usr/bin", "usr/local/sbin", "usr/sbin", "bin")) {
      Path p = node.root().resolve(dir).resolve("containerd");
      if (Files.isExecutable(p)) {
        return Optional.of(probe(p));
      }
    }
    for (String dir : env.getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "containerd"))) {
        return Optional.of(probe(Path.of(dir, "containerd")));
      }
    }
    return Optional.empty();
  }

  /** "containerd github.com/containerd/containerd/v2 2.1.9~ds1 ..." → 2.1.9~ds1 */
  static ContainerdBinary probe(Path path) {
    try {
      Process p =
          new ProcessBuilder(path.toString(), "--version").redirectErrorStream(true).start();
      p.getOutputStream().close();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new Console.Refusal(path + " --version failed: " + out);
      }
      String[] f = out.split("\\s+");
      if (f.length < 3 || !f[2].matches("v?[0-9]+\\..*")) {
        throw new Console.Refusal("cannot read a version from `" + path + " --version`: " + out);
      }
      return new ContainerdBinary(path, f[2].replaceFirst("^v", ""));
    } catch (IOException e) {
      throw new Console.Refusal("cannot run " + path + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new Console.Refusal("interrupted");
    }
  }

  int major() {
    return Integer.parseInt(version.substring(0, version.indexOf('.')));
  }

  /** The config version this containerd writes by default: 2 for 1.x, 3 for 2.x. */
  int configVersion() {
    return major() >= 2 ? 3 : 2;
  }
}
