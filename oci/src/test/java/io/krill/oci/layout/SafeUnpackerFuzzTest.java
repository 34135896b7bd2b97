package io.krill.oci.layout;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Hostile archives: raw bytes, or tars (plain or gzip) built from fuzzed entries whose names and
 * link targets mix {@code ..}, absolute paths, whiteouts and symlinks. Whatever the archive,
 * nothing is written beside the target directory, no device, FIFO, setuid bit or escaping link is
 * left in it, the bytes written respect the limit, and a refusal is an {@link
 * SafeUnpacker.UnsafeArchiveException} or a {@link SafeUnpacker.MalformedArchiveException}.
 */
class SafeUnpackerFuzzTest {
  private static final SafeUnpacker.Limits LIMITS = SafeUnpacker.Limits.of(256, 12);
  private static final String[] PARTS = {
    "a", "b", "..", ".", "", "/", "etc", ".wh.a", ".wh..wh..opq", ".wh..", "outside"
  };
  private static final byte[] SECRET = "do not touch".getBytes(StandardCharsets.UTF_8);
  private static Path work;
  private static int run;

  @BeforeAll
  static void createWorkDir() throws IOException {
    work = Files.createTempDirectory("krill-unpack-fuzz");
  }

  @AfterAll
  static void deleteWorkDir() throws IOException {
    deleteTree(work);
  }

  @FuzzTest
  void unpack_anyArchive_staysInsideTargetAndWithinLimits(FuzzedDataProvider in)
      throws IOException {
    byte[] archive = archive(in);
    if (archive == null) {
      return;
    }
    Path base = Files.createDirectory(work.resolve("run" + run++));
    Path outside = Files.createDirectory(base.resolve("outside"));
    Files.write(outside.resolve("secret"), SECRET);
    Path target = base.resolve("target");
    try {
      long written = -1;
      try {
        written = new SafeUnpacker(LIMITS).unpack(new ByteArrayInputStream(archive), target);
      } catch (SafeUnpacker.UnsafeArchiveException | SafeUnpacker.MalformedArchiveException e) {
        assertTrue(e.getMessage() != null && !e.getMessage().isEmpty());
      }
      try (Stream<Path> s = Files.list(base)) {
        assertEquals(Set.of(outside, target), Set.copyOf(s.toList()), "written beside target");
      }
      try (Stream<Path> s = Files.list(outside)) {
        assertEquals(List.of(outside.resolve("secret")), s.toList(), "written outside");
      }
      assertArrayEquals(SECRET, Files.readAllBytes(outside.resolve("secret")));
      long inTree = checkTree(target.toRealPath());
      if (written >= 0) {
        assertTrue(written <= LIMITS.maxBytes(), "wrote more than the limit");
        assertTrue(inTree <= written, "the tree holds more bytes than were written");
      }
    } finally {
      deleteTree(base);
    }
  }

  /** Returns the bytes of regular files in the tree (each inode once). */
  private static long checkTree(Path root) throws IOException {
    Set<Object> inodes = new HashSet<>();
    long bytes = 0;
    // An absolute link counts from the tree's root, as the container sees it; on the host it leads
    // wherever it says, so the host-side check below holds only for trees of relative links.
    boolean hostView;
    try (Stream<Path> s = Files.walk(root)) {
      hostView = s.filter(Files::isSymbolicLink).noneMatch(p -> readLink(p).startsWith("/"));
    }
    try (Stream<Path> s = Files.walk(root)) {
      for (Path p : s.toList()) {
        int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        assertEquals(0, mode & 07000, "setuid, setgid or sticky bit on " + p);
        if (Files.isSymbolicLink(p)) {
          if (hostView && Files.exists(p)) {
            assertTrue(p.toRealPath().startsWith(root), "symlink " + p + " leads outside");
          }
        } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
          if (inodes.add(Files.getAttribute(p, "unix:ino", LinkOption.NOFOLLOW_LINKS))) {
            bytes += Files.size(p);
          }
        } else if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
          fail("device, FIFO or socket left at " + p);
        }
      }
    }
    return bytes;
  }

  private static String readLink(Path p) {
    try {
      return Files.readSymbolicLink(p).toString();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The archive to unpack, or null if the fuzzer's entries cannot be written as a tar. */
  private static byte[] archive(FuzzedDataProvider in) {
    int kind = in.consumeInt(0, 3);
    if (kind == 0) {
      return in.consumeRemainingAsBytes();
    }
    if (kind == 3) {
      return gzip(in.consumeRemainingAsBytes());
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (TarArchiveOutputStream tar = new TarArchiveOutputStream(out)) {
      tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      int n = in.consumeInt(0, 14);
      for (int i = 0; i < n && in.remainingBytes() > 0; i++) {
        byte type =
            in.pickValue(
                new Byte[] {
                  TarConstants.LF_NORMAL,
                  TarConstants.LF_DIR,
                  TarConstants.LF_SYMLINK,
                  TarConstants.LF_LINK,
                  TarConstants.LF_FIFO,
                  TarConstants.LF_CHR,
                  TarConstants.LF_BLK,
                  (byte) 'x'
                });
        String name = path(in);
        TarArchiveEntry e =
            type == TarConstants.LF_DIR
                ? new TarArchiveEntry(name.endsWith("/") ? name : name + "/")
                : new TarArchiveEntry(name, type, true);
        e.setMode(in.consumeInt(0, 07777));
        if (type == TarConstants.LF_SYMLINK || type == TarConstants.LF_LINK) {
          e.setLinkName(path(in));
        }
        byte[] data =
            type == TarConstants.LF_NORMAL ? in.consumeBytes(in.consumeInt(0, 300)) : new byte[0];
        e.setSize(data.length);
        tar.putArchiveEntry(e);
        tar.write(data);
        tar.closeArchiveEntry();
      }
      tar.finish();
    } catch (IOException | RuntimeException e) {
      return null;
    }
    return kind == 2 ? gzip(out.toByteArray()) : out.toByteArray();
  }

  private static String path(FuzzedDataProvider in) {
    StringBuilder s = new StringBuilder();
    int parts = in.consumeInt(1, 4);
    for (int i = 0; i < parts; i++) {
      if (i > 0) {
        s.append('/');
      }
      s.append(in.consumeBoolean() ? in.pickValue(PARTS) : in.consumeString(6));
    }
    return s.toString();
  }

  private static byte[] gzip(byte[] bytes) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream gz = new GZIPOutputStream(out)) {
      gz.write(bytes);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static void deleteTree(Path p) throws IOException {
    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      // Unpacked directories may lack the owner's write bit only if the unpacker failed to add it.
      try (Stream<Path> s = Files.list(p)) {
        for (Path c : s.toList()) {
          deleteTree(c);
        }
      }
    }
    Files.deleteIfExists(p);
    assertFalse(Files.exists(p, LinkOption.NOFOLLOW_LINKS));
  }
}
