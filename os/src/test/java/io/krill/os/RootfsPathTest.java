package io.krill.os;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RootfsPathTest {
  @TempDir Path tmp;
  Path root;

  @BeforeEach
  void setUp() throws IOException {
    root = Files.createDirectories(tmp.resolve("rootfs"));
    Files.createDirectories(root.resolve("app/bin"));
    Files.writeString(root.resolve("app/bin/main.wasm"), "x");
  }

  @Test
  void resolve_plainPath_joinsUnderRoot() throws IOException {
    assertEquals(root.resolve("app/bin/main.wasm"), RootfsPath.resolve(root, "/app/bin/main.wasm"));
  }

  @Test
  void resolve_redundantSlashesAndDots_ignored() throws IOException {
    assertEquals(
        root.resolve("app/bin/main.wasm"), RootfsPath.resolve(root, "//app/./bin//main.wasm"));
  }

  @Test
  void resolve_dotDotPastRoot_clampsAtRoot() throws IOException {
    assertEquals(
        root.resolve("app/bin/main.wasm"), RootfsPath.resolve(root, "/../../../app/bin/main.wasm"));
    assertEquals(root, RootfsPath.resolve(root, "/app/../../.."));
  }

  @Test
  void resolve_absoluteSymlink_resolvedInsideRootfs() throws IOException {
    Files.createSymbolicLink(root.resolve("entry.wasm"), Path.of("/app/bin/main.wasm"));
    assertEquals(root.resolve("app/bin/main.wasm"), RootfsPath.resolve(root, "/entry.wasm"));
  }

  @Test
  void resolve_absoluteSymlinkToHostPath_staysInsideRootfs() throws IOException {
    Path hostSecret = Files.writeString(tmp.resolve("secret"), "host");
    Files.createSymbolicLink(root.resolve("escape"), hostSecret);
    Path resolved = RootfsPath.resolve(root, "/escape");
    assertTrue(resolved.startsWith(root), resolved.toString());
    assertFalse(Files.exists(resolved));
  }

  @Test
  void resolve_relativeSymlinkClimbingOut_clampsAtRoot() throws IOException {
    Files.createSymbolicLink(root.resolve("app/up"), Path.of("../../../../app/bin"));
    assertEquals(root.resolve("app/bin/main.wasm"), RootfsPath.resolve(root, "/app/up/main.wasm"));
  }

  @Test
  void resolve_symlinkedDirectoryInMiddle_followed() throws IOException {
    Files.createSymbolicLink(root.resolve("current"), Path.of("app"));
    assertEquals(
        root.resolve("app/bin/main.wasm"), RootfsPath.resolve(root, "/current/bin/main.wasm"));
  }

  @Test
  void resolve_chainOfSymlinks_followedToTheEnd() throws IOException {
    Files.createSymbolicLink(root.resolve("a"), Path.of("/b"));
    Files.createSymbolicLink(root.resolve("b"), Path.of("app/bin/main.wasm"));
    assertEquals(root.resolve("app/bin/main.wasm"), RootfsPath.resolve(root, "/a"));
  }

  @Test
  void resolve_symlinkLoop_throwsIOException() throws IOException {
    Files.createSymbolicLink(root.resolve("loop1"), Path.of("/loop2"));
    Files.createSymbolicLink(root.resolve("loop2"), Path.of("loop1"));
    IOException e =
        assertThrows(IOException.class, () -> RootfsPath.resolve(root, "/loop1/x.wasm"));
    assertTrue(e.getMessage().contains("too many symbolic links"), e.getMessage());
  }

  @Test
  void resolve_selfLoop_throwsIOException() throws IOException {
    Files.createSymbolicLink(root.resolve("self"), Path.of("self"));
    assertThrows(IOException.class, () -> RootfsPath.resolve(root, "/self"));
  }

  @Test
  void resolve_missingFile_returnsPathUnderRoot() throws IOException {
    assertEquals(root.resolve("nope/x.wasm"), RootfsPath.resolve(root, "/nope/x.wasm"));
  }

  @Test
  void resolve_nulCharacter_isIoExceptionNamingThePath() {
    // Found by RootfsPathFuzzTest: the JDK's InvalidPathException escaped instead.
    IOException e =
        org.junit.jupiter.api.Assertions.assertThrows(
            IOException.class, () -> RootfsPath.resolve(root, "/app/\0.wasm"));
    assertEquals(
        "\"/app/\\0.wasm\" contains a NUL character, which no path may hold", e.getMessage());
  }
}
