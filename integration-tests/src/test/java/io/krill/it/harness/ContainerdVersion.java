package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The containerd releases krill supports; 1.7 and 2.1 are private copies made by
 * scripts/install-deps.sh.
 */
public enum ContainerdVersion {
  V1_6("1.6"),
  V1_7("1.7"),
  V2_1("2.1");

  private final String label;

  ContainerdVersion(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  /** containerd 2.x reads config {@code version = 3} and split CRI into several plugins. */
  public boolean isV2() {
    return label.startsWith("2.");
  }

  public Path containerd() {
    return binary("containerd");
  }

  public Path ctr() {
    return binary("ctr");
  }

  private Path bin() {
    if (this == V1_6) {
      return Path.of("/usr/bin");
    }
    return cacheDir().resolve("containerd-" + label).resolve("root/usr/bin");
  }

  private Path binary(String name) {
    Path p = bin().resolve(name);
    if (!Files.isExecutable(p)) {
      fail("containerd " + label + ": no executable " + p + "; run scripts/install-deps.sh");
    }
    return p;
  }

  public static Path cacheDir() {
    String env = System.getenv("KRILL_IT_CACHE");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    return Path.of(System.getProperty("user.home"), ".cache", "krill-it");
  }

  @Override
  public String toString() {
    return "containerd " + label;
  }
}
