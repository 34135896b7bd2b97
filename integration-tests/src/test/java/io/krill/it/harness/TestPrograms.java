package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The guest programs from src/test/c, built by this module's Makefile. make runs once per test JVM:
 * it is incremental, and running it here means a stale or missing build can never be tested by
 * accident.
 */
public final class TestPrograms {
  private static Path dir;

  private TestPrograms() {}

  public static synchronized Path dir() {
    if (dir == null) {
      Path module = moduleDir();
      try {
        Process make =
            new ProcessBuilder("make", "-C", module.toString(), "all")
                .redirectErrorStream(true)
                .start();
        String out = new String(make.getInputStream().readAllBytes());
        if (!make.waitFor(300, TimeUnit.SECONDS) || make.exitValue() != 0) {
          fail("building the test programs failed (run scripts/install-deps.sh?):\n" + out);
        }
      } catch (IOException e) {
        fail("cannot run make for the test programs: " + e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        fail("interrupted building the test programs");
      }
      dir = module.resolve("target/testprogs");
    }
    return dir;
  }

  private static Path moduleDir() {
    for (String candidate :
        new String[] {System.getProperty("basedir"), System.getProperty("user.dir")}) {
      if (candidate == null) {
        continue;
      }
      Path p = Path.of(candidate).toAbsolutePath();
      for (Path q : List.of(p, p.resolve("integration-tests"))) {
        if (Files.isRegularFile(q.resolve("Makefile"))
            && Files.isDirectory(q.resolve("src/test/c"))) {
          return q;
        }
      }
    }
    fail(
        "cannot locate the integration-tests module (no Makefile and src/test/c under basedir or user.dir)");
    return null;
  }

  public static Path path(String name) {
    Path p = dir().resolve(name);
    if (!Files.isRegularFile(p)) {
      fail("test program " + name + " was not built into " + dir());
    }
    return p;
  }

  public static byte[] bytes(String name) {
    try {
      return Files.readAllBytes(path(name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every built .wasm module, by file name. */
  public static List<String> wasmModules() {
    try (Stream<Path> s = Files.list(dir())) {
      return s.map(p -> p.getFileName().toString())
          .filter(n -> n.endsWith(".wasm"))
          .sorted()
          .toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Copies every wasm module into {@code rootfs} (for ctr run --rootfs) and returns it. */
  public static Path populateRootfs(Path rootfs) {
    try {
      for (String m : wasmModules()) {
        Path target = rootfs.resolve(m);
        Files.copy(path(m), target);
        target.toFile().setExecutable(true, false);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return rootfs;
  }

  /** 64-bit FNV-1a, as stdinsum.wasm prints it. */
  public static String fnv1a(byte[] data) {
    long h = 0xcbf29ce484222325L;
    for (byte b : data) {
      h ^= b & 0xff;
      h *= 0x100000001b3L;
    }
    return String.format("%016x", h);
  }

  /**
   * What dirs.wasm prints as current Wasmtime answers (its stdin: the 6 bytes {@code "input\n"}),
   * one line per check.
   */
  public static final List<String> DIRS_LINES =
      List.of(
          "renumber-to-closed: EBADF",
          "readlink-short: ok 6 a-rath",
          "open-dir-for-write: EISDIR",
          "prestat-name-empty: ENAMETOOLONG",
          "rmdir-trailing-slash: ok",
          "poll-stdin-data: ok",
          "poll-stdin-eof: ok",
          "go-open: ok",
          "go-readdir: ok 3",
          "libc-readdir: ok 3",
          "stdin bytes: 6");
}
