package io.krill.cli;

import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Options several commands share, as picocli mixins. */
final class Options {
  private Options() {}

  /** {@code -h}/{@code --help} on every command. */
  static final class Help {
    @Option(
        names = {"-h", "--help"},
        usageHelp = true,
        description = "show this help and exit")
    boolean help;
  }

  /**
   * Which node and which containerd config: {@code --root DIR} (a mounted node's /) and {@code
   * --config PATH}.
   */
  static final class NodeOptions {
    @Option(
        names = "--root",
        paramLabel = "DIR",
        defaultValue = "/",
        description = "the node's root directory, e.g. a host mount (default: /)")
    Path root;

    @Option(
        names = "--config",
        paramLabel = "PATH",
        description = "containerd's config (default: <root>/etc/containerd/config.toml)")
    Path config;

    Node node() {
      return Node.of(root, config);
    }
  }
}
