package io.krill.cli;

import io.krill.oci.layout.LayoutTarball;
import io.krill.oci.layout.OciLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;

/**
 * An image on disk: a layout directory, or a layout tarball unpacked (safely) into a temp dir for
 * the duration.
 */
final class LocalImage implements AutoCloseable {
  private final OciLayout layout;
  private final Path temp;

  private LocalImage(OciLayout layout, Path temp) {
    this.layout = layout;
    this.temp = temp;
  }

  static boolean looksLocal(String arg) {
    return arg.endsWith(".tar") || Files.isDirectory(Path.of(arg));
  }

  static LocalImage open(Path src) throws IOException {
    if (Files.isDirectory(src)) {
      return new LocalImage(OciLayout.open(src), null);
    }
    if (!Files.isRegularFile(src)) {
      throw new IOException(src + " is neither an OCI layout directory nor a layout tarball");
    }
    Path temp = Files.createTempDirectory("krill-image-");
    try {
      return new LocalImage(LayoutTarball.extract(src, temp), temp);
    } catch (IOException | RuntimeException e) {
      deleteTree(temp);
      throw e;
    }
  }

  OciLayout layout() {
    return layout;
  }

  @Override
  public void close() throws IOException {
    if (temp != null) {
      deleteTree(temp);
    }
  }

  static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      try (var s = Files.list(p)) {
        for (Path c : s.toList()) {
          deleteTree(c);
        }
      }
    }
    Files.deleteIfExists(p);
  }
}
