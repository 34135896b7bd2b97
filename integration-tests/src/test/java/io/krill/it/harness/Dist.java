package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The built krill distribution under test; its {@code bin} goes on each private containerd's PATH.
 */
public final class Dist {
  public static final String SHIM_BINARY = "containerd-shim-krill-v1";
  public static final String RUNTIME = "io.containerd.krill.v1";
  public static final String ISOLATED_RUNTIME = "io.containerd.krill-isolated.v1";

  private Dist() {}

  public static Path home() {
    String prop = System.getProperty("krill.dist");
    if (prop == null || prop.isBlank()) {
      fail(
          "system property krill.dist is not set (run the tests through Maven); run make build first");
    }
    Path home = Path.of(prop).toAbsolutePath().normalize();
    // A missing shim must fail, not skip: a skipped end-to-end test hides a broken build.
    if (!Files.isExecutable(home.resolve("bin").resolve(SHIM_BINARY))) {
      fail("no executable " + home.resolve("bin").resolve(SHIM_BINARY) + ": run make build first");
    }
    return home;
  }

  public static Path binDir() {
    return home().resolve("bin");
  }
}
