package io.krill.oci.layout;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.stream.Stream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;

/**
 * An OCI layout as one tar file, the form {@code ctr images import} and {@code skopeo copy
 * oci-archive:} take. Entries are written in a fixed order with fixed metadata, so the same layout
 * gives the same tar.
 */
public final class LayoutTarball {
  /**
   * Layout tarballs hold whole images; the limit only stops a hostile archive from filling the
   * disk.
   */
  public static final long MAX_BYTES = 8L << 30;

  private LayoutTarball() {}

  public static void write(OciLayout layout, Path tarFile) throws IOException {
    Path dir = layout.dir();
    Path tmp = Files.createTempFile(tarFile.toAbsolutePath().getParent(), ".layout", ".tar.tmp");
    try {
      try (OutputStream os = Files.newOutputStream(tmp);
          TarArchiveOutputStream tar = new TarArchiveOutputStream(os)) {
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        file(tar, dir, OciLayout.LAYOUT_FILE);
        file(tar, dir, OciLayout.INDEX_FILE);
        directory(tar, "blobs/");
        try (Stream<Path> algs = Files.list(dir.resolve("blobs"))) {
          for (Path alg : algs.filter(Files::isDirectory).sorted().toList()) {
            directory(tar, "blobs/" + alg.getFileName() + "/");
            List<Path> blobs;
            try (Stream<Path> s = Files.list(alg)) {
              blobs = s.filter(Files::isRegularFile).sorted().toList();
            }
            for (Path b : blobs) {
              file(tar, dir, dir.relativize(b).toString());
            }
          }
        }
        tar.finish();
      }
      Files.move(tmp, tarFile, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static void directory(TarArchiveOutputStream tar, String name) throws IOException {
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setMode(040755);
    e.setModTime(0);
    tar.putArchiveEntry(e);
    tar.closeArchiveEntry();
  }

  private static void file(TarArchiveOutputStream tar, Path dir, String name) throws IOException {
    Path p = dir.resolve(name);
    TarArchiveEntry e = new TarArchiveEntry(name);
    e.setMode(0100644);
    e.setSize(Files.size(p));
    e.setModTime(0);
    tar.putArchiveEntry(e);
    try (InputStream in = Files.newInputStream(p)) {
      in.transferTo(tar);
    }
    tar.closeArchiveEntry();
  }

  /** Unpacks a layout tarball into {@code dir} (safely: see {@link SafeUnpacker}) and opens it. */
  public static OciLayout extract(Path tarFile, Path dir) throws IOException {
    try (InputStream in = Files.newInputStream(tarFile)) {
      new SafeUnpacker(SafeUnpacker.Limits.of(MAX_BYTES, 100_000)).unpack(in, dir);
    }
    return OciLayout.open(dir);
  }
}
