package io.krill.shim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PodRunDirTest {
  private static final List<String> MOUNTINFO =
      List.of(
          "22 1 0:21 / / rw,relatime - ext4 /dev/vda rw",
          "30 22 0:25 / /run rw,nosuid - tmpfs tmpfs rw",
          "41 30 0:40 /data /run/krill/shim/abc/mounts/c1/0 rw - ext4 /dev/vdb rw",
          "42 30 0:41 / /run/krill/shim/abcdef rw - tmpfs tmpfs rw",
          "43 30 0:42 / /run/krill/shim/with\\040space/x rw - tmpfs tmpfs rw");

  @Test
  void mountPointsUnder_findsOnlyMountsInsideTheDir() {
    assertEquals(
        List.of(Path.of("/run/krill/shim/abc/mounts/c1/0")),
        PodRunDir.mountPointsUnder(Path.of("/run/krill/shim/abc"), MOUNTINFO));
    assertEquals(List.of(), PodRunDir.mountPointsUnder(Path.of("/run/krill/shim/ab"), MOUNTINFO));
  }

  @Test
  void mountPointsUnder_readsEscapedSpaces() {
    assertEquals(
        List.of(Path.of("/run/krill/shim/with space/x")),
        PodRunDir.mountPointsUnder(Path.of("/run/krill/shim/with space"), MOUNTINFO));
  }

  @Test
  void remove_deletesTheTree(@TempDir Path tmp) throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("pod/mounts/c1"));
    Files.writeString(tmp.resolve("pod/daemon.log"), "log");
    Files.writeString(tmp.resolve("pod/lock"), "");
    Path outside = Files.writeString(tmp.resolve("outside"), "keep");
    Files.createSymbolicLink(dir.resolve("link"), outside);
    PodRunDir.remove(tmp.resolve("pod"));
    assertFalse(Files.exists(tmp.resolve("pod")));
    assertTrue(Files.exists(outside));
  }
}
