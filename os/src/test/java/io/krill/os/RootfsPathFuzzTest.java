package io.krill.os;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * A rootfs of fuzzed directories and symlinks (relative, absolute, {@code ..}-laden, looping)
 * beside a directory that must stay out of reach, and a fuzzed container path: resolution either
 * fails with an {@link IOException} or returns a host path inside the rootfs with no symlink left
 * on the way, which the kernel resolves inside the rootfs too.
 */
class RootfsPathFuzzTest {
  private static final String[] NAMES = {"a", "b", "c", "..", ".", "", "outside", "secret"};
  private static Path work;
  private static int run;

  @BeforeAll
  static void createWorkDir() throws IOException {
    work = Files.createTempDirectory("krill-rootfs-fuzz");
  }

  @AfterAll
  static void deleteWorkDir() throws IOException {
    deleteTree(work);
  }

  @FuzzTest
  void resolve_anyTreeAndPath_staysInsideTheRootfs(FuzzedDataProvider in) throws IOException {
    Path base = Files.createDirectory(work.resolve("run" + run++));
    try {
      Path outside = Files.createDirectory(base.resolve("outside"));
      Files.writeString(outside.resolve("secret"), "host");
      Path root = Files.createDirectory(base.resolve("rootfs"));
      int n = in.consumeInt(0, 8);
      for (int i = 0; i < n; i++) {
        Path p = root.resolve(in.pickValue(new String[] {"a", "b", "c", "a/b", "b/c", "a/b/c"}));
        try {
          Files.createDirectories(p.getParent());
          if (in.consumeBoolean()) {
            Files.createSymbolicLink(p, Path.of(path(in)));
          } else {
            Files.createDirectories(p);
          }
        } catch (IOException | IllegalArgumentException e) {
          // Taken already, or under a symlink: the tree is what it is.
        }
      }
      String containerPath = path(in);
      Path resolved;
      try {
        resolved = RootfsPath.resolve(root, containerPath);
      } catch (IOException e) {
        assertTrue(e.getMessage().contains(containerPath.replace("\0", "\\0")), e.getMessage());
        return;
      }
      assertTrue(resolved.startsWith(root), containerPath + " resolved to " + resolved);
      for (Path p = resolved; !p.equals(root); p = p.getParent()) {
        assertFalse(Files.isSymbolicLink(p), "symlink left in " + resolved);
        assertFalse(p.getFileName().toString().equals(".."), ".. left in " + resolved);
      }
      if (Files.exists(resolved)) {
        assertTrue(resolved.toRealPath().startsWith(root.toRealPath()));
      }
    } finally {
      deleteTree(base);
    }
  }

  private static String path(FuzzedDataProvider in) {
    if (in.consumeBoolean()) {
      return in.consumeString(40);
    }
    StringBuilder s = new StringBuilder(in.consumeBoolean() ? "/" : "");
    int parts = in.consumeInt(1, 5);
    for (int i = 0; i < parts; i++) {
      s.append(i > 0 ? "/" : "").append(in.pickValue(NAMES));
    }
    return s.toString();
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      try (Stream<Path> s = Files.list(p)) {
        for (Path c : s.toList()) {
          deleteTree(c);
        }
      }
    }
    Files.deleteIfExists(p);
  }
}
