package io.krill.cri.pod.cni;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where pod networks would come from: CNI configuration files and plugin binaries. NetworkReady is
 * reported from what is on disk, as kubelet uses it to decide whether to schedule pods that need a
 * network.
 */
public record CniNetwork(Path confDir, Path binDir) {
  public static final Path DEFAULT_CONF_DIR = Path.of("/etc/cni/net.d");
  public static final Path DEFAULT_BIN_DIR = Path.of("/usr/lib/cni");

  /** The first config file in lexical order, as containerd and CRI-O pick it. */
  public Optional<Path> config() {
    if (!Files.isDirectory(confDir)) {
      return Optional.empty();
    }
    try (Stream<Path> files = Files.list(confDir)) {
      return files
          .filter(
              p ->
                  p.toString().endsWith(".conflist")
                      || p.toString().endsWith(".conf")
                      || p.toString().endsWith(".json"))
          .sorted()
          .findFirst();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /**
   * Empty when pods can be given a network; otherwise why not, for the NetworkReady condition's
   * message.
   */
  public Optional<String> notReadyBecause() {
    if (config().isEmpty()) {
      return Optional.of("no CNI network config in " + confDir);
    }
    if (!Files.isDirectory(binDir)) {
      return Optional.of("no CNI plugin directory " + binDir);
    }
    return Optional.empty();
  }
}
