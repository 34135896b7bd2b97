package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.krill.oci.RuntimeSpec;
import io.krill.os.Mounts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** rprivate bind mounts as private copies, on the real kernel (needs root to mount). */
class PrivateMountsTest {
  @TempDir Path tmp;

  private static RuntimeSpec spec(RuntimeSpec.Mount... mounts) {
    return new RuntimeSpec(
        "1.0.2", null, new RuntimeSpec.Root("/rootfs", true), List.of(mounts), null, null, null);
  }

  @Test
  void rprivate_copyKeepsFilesButNotLaterHostMounts() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "mounting needs root");
    Path src = Files.createDirectories(tmp.resolve("src"));
    Path sub = Files.createDirectories(src.resolve("sub"));
    Path root = tmp.resolve("mounts");
    RuntimeSpec.Mount privateMount =
        new RuntimeSpec.Mount("/data", "bind", src.toString(), List.of("rbind", "rprivate", "rw"));
    RuntimeSpec.Mount liveMount =
        new RuntimeSpec.Mount("/live", "bind", src.toString(), List.of("rbind", "rslave", "rw"));

    PrivateMounts.Made made = PrivateMounts.make("c1", tmp, spec(privateMount, liveMount), root);
    try {
      Path copy = Path.of(made.spec().mounts().get(0).source());
      assertEquals(root.resolve("c1/0"), copy);
      assertEquals(liveMount, made.spec().mounts().get(1), "rslave stays a live view");
      Files.writeString(src.resolve("file"), "same file");
      assertEquals("same file", Files.readString(copy.resolve("file")));

      Mounts.mount("tmpfs", "tmpfs", List.of("size=1m"), sub);
      try {
        Files.writeString(sub.resolve("mounted-later"), "x");
        assertTrue(Files.exists(sub.resolve("mounted-later")));
        assertFalse(
            Files.exists(copy.resolve("sub/mounted-later")),
            "a host mount made after create must not reach an rprivate mount");
      } finally {
        Mounts.unmount(sub);
      }
    } finally {
      PrivateMounts.release("c1", made.dir());
    }
    assertFalse(Files.exists(root.resolve("c1")), "released copies leave nothing behind");
    assertTrue(Files.exists(src.resolve("file")), "releasing never touches the source");
  }

  @Test
  void sweep_detachesWhatADeadDaemonLeft() throws Exception {
    assumeTrue("root".equals(System.getProperty("user.name")), "mounting needs root");
    Path src = Files.createDirectories(tmp.resolve("src"));
    Files.writeString(src.resolve("keep"), "kept");
    Path root = tmp.resolve("mounts");
    PrivateMounts.make(
        "left",
        tmp,
        spec(new RuntimeSpec.Mount("/d", "bind", src.toString(), List.of("rbind", "rprivate"))),
        root);
    assertTrue(Files.exists(root.resolve("left/0/keep")));

    PrivateMounts.sweep(root);

    assertFalse(Files.exists(root.resolve("left")));
    assertEquals("kept", Files.readString(src.resolve("keep")));
  }

  @Test
  void noPrivateMount_specUnchangedAndNothingMounted() {
    RuntimeSpec s =
        spec(new RuntimeSpec.Mount("/d", "bind", tmp.toString(), List.of("rbind", "rw")));
    PrivateMounts.Made made = PrivateMounts.make("c2", tmp, s, tmp.resolve("mounts"));
    assertSame(s, made.spec());
    assertNull(made.dir());
  }

  @Test
  void propagation_lastOptionWins() {
    RuntimeSpec.Mount m =
        new RuntimeSpec.Mount("/d", "bind", "/s", List.of("rbind", "rshared", "rprivate"));
    assertEquals("rprivate", m.propagation());
    assertTrue(m.isPrivate());
    assertNull(new RuntimeSpec.Mount("/d", "bind", "/s", List.of("rbind")).propagation());
  }
}
