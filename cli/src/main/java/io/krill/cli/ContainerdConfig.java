package io.krill.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.util.Optional;

/**
 * containerd's config.toml as text. krill never re-serialises the file: it appends (or removes) one
 * marked block, so every other byte, comment and quoting style stays as the operator wrote it, and
 * checks every result with a real TOML parser before anything is written.
 *
 * <p>Config {@code version = 2} (containerd 1.x) keeps CRI runtimes under {@code
 * plugins."io.containerd.grpc.v1.cri".containerd.runtimes}; {@code version = 3} (2.x) under {@code
 * plugins."io.containerd.cri.v1.runtime".containerd.runtimes}. containerd 2.x also reads a version
 * 2 file (migrating it in memory), so the file's own version decides the table.
 */
record ContainerdConfig(String text) {
  static final String RUNTIME_TYPE = "io.containerd.krill.v1";

  /**
   * The krill-isolated runtime (a daemon per pod), declared beside krill as {@code
   * <handler>}-isolated.
   */
  static final String ISOLATED_RUNTIME_TYPE = "io.containerd.krill-isolated.v1";

  static final String ISOLATED_SUFFIX = "-isolated";

  /**
   * containerd's CRI copies into a container's OCI spec only the pod and container annotations its
   * runtime handler lists: krill's own ({@code krill.io/engine}, {@code krill.io/listen}, ...) must
   * reach the shim, so kubelet's pod annotations can choose them.
   */
  static final String ANNOTATIONS =
      "  pod_annotations = [\"krill.io/*\"]\n  container_annotations = [\"krill.io/*\"]\n";

  static final String BEGIN =
      "# >>> krill runtime: added by `krill install`, removed by `krill uninstall` >>>";
  static final String END = "# <<< krill runtime <<<";
  private static final TomlMapper TOML = new TomlMapper();

  /** The parsed document; a refusal naming the problem when the text is not valid TOML. */
  JsonNode parse() {
    try {
      return TOML.readTree(text);
    } catch (IOException e) {
      throw new Console.Refusal(
          "containerd config is not valid TOML, leaving it untouched: "
              + e.getMessage().lines().findFirst().orElse(""));
    }
  }

  /** The {@code version} key, or empty when the file sets none. */
  Optional<Integer> version() {
    JsonNode v = parse().get("version");
    return v == null ? Optional.empty() : Optional.of(v.asInt());
  }

  static String runtimesTable(int version) {
    return switch (version) {
      case 2 -> "plugins.\"io.containerd.grpc.v1.cri\".containerd.runtimes";
      case 3 -> "plugins.\"io.containerd.cri.v1.runtime\".containerd.runtimes";
      default ->
          throw new Console.Refusal(
              "containerd config version "
                  + version
                  + " is not supported; run `containerd config migrate` and retry");
    };
  }

  /** The runtime entry for {@code handler} in the parsed document, wherever it came from. */
  static Optional<JsonNode> runtime(JsonNode doc, int version, String handler) {
    String plugin = version == 2 ? "io.containerd.grpc.v1.cri" : "io.containerd.cri.v1.runtime";
    JsonNode n = doc.path("plugins").path(plugin).path("containerd").path("runtimes").path(handler);
    return n.isMissingNode() ? Optional.empty() : Optional.of(n);
  }

  boolean hasBlock() {
    return text.contains(BEGIN + "\n");
  }

  /**
   * The text without krill's block and the line break placed before it, so that an install followed
   * by an uninstall gives back the original bytes (with or without a final newline).
   */
  ContainerdConfig withoutBlock() {
    int begin = text.indexOf(BEGIN + "\n");
    if (begin < 0) {
      return this;
    }
    int end = text.indexOf(END + "\n", begin);
    if (end < 0) {
      throw new Console.Refusal(
          "krill's block in containerd config has no end marker; fix the file by hand");
    }
    int from = begin;
    if (from >= 2 && text.startsWith("\n\n", from - 2)) {
      from--;
    } else if (from >= 1 && text.charAt(from - 1) == '\n') {
      from--;
    }
    return new ContainerdConfig(text.substring(0, from) + text.substring(end + END.length() + 1));
  }

  /** As {@link #withBlock(String, int, boolean, boolean)}, with the isolated runtime. */
  ContainerdConfig withBlock(String handler, int version, boolean declareVersion) {
    return withBlock(handler, version, declareVersion, true);
  }

  /**
   * This text (without any earlier krill block) plus a block declaring {@code handler} and, with
   * {@code isolated}, {@code <handler>-isolated} (runtime type {@link #ISOLATED_RUNTIME_TYPE}). A
   * file with no settings at all (missing, empty or only comments) gets {@code version} inside the
   * block, taken from the containerd binary, which keeps uninstall's "remove the block" exact.
   */
  ContainerdConfig withBlock(
      String handler, int version, boolean declareVersion, boolean isolated) {
    String base = withoutBlock().text;
    StringBuilder b = new StringBuilder(base);
    if (!base.isEmpty()) {
      // After a final newline this makes a blank line; without one it only ends the last line.
      // withoutBlock() removes exactly this character again.
      b.append('\n');
    }
    b.append(BEGIN).append('\n');
    if (declareVersion) {
      b.append("version = ").append(version).append("\n\n");
    }
    b.append('[').append(runtimesTable(version)).append('.').append(handler).append("]\n");
    b.append("  runtime_type = \"").append(RUNTIME_TYPE).append("\"\n").append(ANNOTATIONS);
    if (isolated) {
      b.append('[')
          .append(runtimesTable(version))
          .append('.')
          .append(handler)
          .append(ISOLATED_SUFFIX)
          .append("]\n");
      b.append("  runtime_type = \"")
          .append(ISOLATED_RUNTIME_TYPE)
          .append("\"\n")
          .append(ANNOTATIONS);
    }
    b.append(END).append('\n');
    return new ContainerdConfig(b.toString());
  }
}
