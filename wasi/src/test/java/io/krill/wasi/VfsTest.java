package io.krill.wasi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VfsTest {
  @TempDir Path tmp;

  /**
   * A directory on the way swapped for a symlink out of the tree after the path was resolved (by
   * another container sharing the volume): the open walks without following it, and fails.
   */
  @Test
  void aDirectorySwappedForASymlinkAfterResolvingIsNotFollowed() throws Exception {
    Path vol = Files.createDirectories(tmp.resolve("vol"));
    Files.createDirectories(vol.resolve("sub"));
    Files.writeString(vol.resolve("sub/f"), "inside");
    Path outside = Files.createDirectories(tmp.resolve("outside"));
    Files.writeString(outside.resolve("f"), "outside");
    Vfs vfs = new Vfs(List.of(new Mount("/data", vol, false)));

    Vfs.Resolved r = vfs.resolve(List.of("data"), "sub/f", true);
    assertTrue(r.exists());
    Files.delete(vol.resolve("sub/f"));
    Files.delete(vol.resolve("sub"));
    Files.createSymbolicLink(vol.resolve("sub"), outside);

    FileSystemException e =
        assertThrows(FileSystemException.class, () -> Vfs.openParent(r.at()).close());
    assertEquals(Errno.LOOP, Errno.of(e), e.toString());
  }

  @Test
  void theParentOfAResolvedPathIsItsDirectory() throws Exception {
    Path vol = Files.createDirectories(tmp.resolve("vol"));
    Files.createDirectories(vol.resolve("a/b"));
    Files.writeString(vol.resolve("a/b/f"), "x");
    Vfs vfs = new Vfs(List.of(new Mount("/", vol, false)));
    Vfs.Resolved r = vfs.resolve(List.of(), "a/b/f", true);
    try (SecureDirectoryStream<Path> parent = Vfs.openParent(r.at())) {
      assertTrue(
          parent
              .getFileAttributeView(
                  Vfs.leaf(r.at()), java.nio.file.attribute.BasicFileAttributeView.class)
              .readAttributes()
              .isRegularFile());
    }
  }

  /** A file bind mount's host source may itself be a symlink (systemd-resolved's resolv.conf). */
  @Test
  void aFileMountWhoseSourceIsASymlinkIsOpened() throws IOException {
    Path real = Files.writeString(tmp.resolve("stub-resolv.conf"), "nameserver 127.0.0.53\n");
    Path link = Files.createSymbolicLink(tmp.resolve("resolv.conf"), real);
    Path root = Files.createDirectories(tmp.resolve("root/etc")).getParent();
    TestGuest g =
        new TestGuest(
            List.of(new Mount("/", root, false), new Mount("/etc/resolv.conf", link, true)));
    int fd = g.open(3, "etc/resolv.conf", 0, Rights.FD_READ, 0);
    assertEquals("nameserver 127.0.0.53\n", g.readAll(fd, 100));
  }
}
