package io.krill.oci.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.zip.GZIPOutputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeUnpackerTest {
  @TempDir Path tmp;

  private record Entry(String name, byte type, String link, byte[] data) {}

  private static Entry file(String name, String data) {
    return new Entry(name, TarConstants.LF_NORMAL, null, data.getBytes(StandardCharsets.UTF_8));
  }

  private static Entry symlink(String name, String target) {
    return new Entry(name, TarConstants.LF_SYMLINK, target, null);
  }

  private static byte[] tar(boolean gzip, Entry... entries) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (var os = gzip ? new GZIPOutputStream(bytes) : bytes;
        TarArchiveOutputStream t = new TarArchiveOutputStream(os)) {
      t.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
      for (Entry e : entries) {
        TarArchiveEntry te = new TarArchiveEntry(e.name(), e.type(), true);
        if (e.link() != null) {
          te.setLinkName(e.link());
        }
        if (e.data() != null) {
          te.setSize(e.data().length);
        }
        t.putArchiveEntry(te);
        if (e.data() != null) {
          t.write(e.data());
        }
        t.closeArchiveEntry();
      }
    }
    return bytes.toByteArray();
  }

  private String refusal(Entry... entries) throws IOException {
    Path target = tmp.resolve("target");
    var e = assertThrows(SafeUnpacker.UnsafeArchiveException.class, () -> unpack(target, entries));
    try (var s = Files.list(tmp)) {
      assertEquals(List.of(target), s.toList(), "nothing may be written beside the target");
    }
    return e.getMessage();
  }

  private void unpack(Path target, Entry... entries) throws IOException {
    new SafeUnpacker(SafeUnpacker.Limits.of(1 << 20, 100))
        .unpack(new ByteArrayInputStream(tar(false, entries)), target);
  }

  @Test
  void unpack_ordinaryGzipLayer_writesFilesDirsAndInsideLinks() throws IOException {
    Path target = tmp.resolve("t");
    byte[] gz =
        tar(
            true,
            file("app.wasm", "wasm"),
            file("etc/conf", "x"),
            symlink("etc/link", "../app.wasm"),
            symlink("abs", "/etc/conf"),
            new Entry("hard", TarConstants.LF_LINK, "app.wasm", null));
    new SafeUnpacker(SafeUnpacker.Limits.of(1 << 20, 100))
        .unpack(new ByteArrayInputStream(gz), target);
    assertEquals("wasm", Files.readString(target.resolve("app.wasm")));
    assertEquals("x", Files.readString(target.resolve("etc/conf")));
    assertEquals("wasm", Files.readString(target.resolve("etc/link")));
    assertEquals("/etc/conf", Files.readSymbolicLink(target.resolve("abs")).toString());
    assertEquals("wasm", Files.readString(target.resolve("hard")));
  }

  @Test
  void unpack_dotDotEntry_refused() throws IOException {
    assertEquals(
        "entry ../evil contains \"..\"; it would escape the target directory",
        refusal(file("ok", "1"), file("../evil", "x")));
  }

  @Test
  void unpack_absolutePath_refused() throws IOException {
    assertEquals("entry /etc/evil has an absolute path", refusal(file("/etc/evil", "x")));
  }

  @Test
  void unpack_symlinkEscape_refused() throws IOException {
    assertEquals(
        "symlink out -> ../../outside escapes the target directory",
        refusal(symlink("out", "../../outside")));
  }

  @Test
  void unpack_symlinkWithEmptyTarget_refusedNamingTheEntry() throws IOException {
    // Found by SafeUnpackerFuzzTest: symlink(2) refuses an empty target with ENOENT, which escaped
    // as a bare NoSuchFileException naming only the host path.
    assertEquals(
        "symlink etc/empty has an empty target; a symlink must point at a path",
        refusal(new Entry("etc/", TarConstants.LF_DIR, null, null), symlink("etc/empty", "")));
  }

  @Test
  void unpack_symlinkEscapingThroughAnotherSymlink_refused() throws IOException {
    // Found by SafeUnpackerFuzzTest: "s/.." is inside the tree as text, but s leads to the root,
    // so the kernel resolves t to the target's parent.
    assertEquals(
        "symlink a/t -> s/../.. escapes the target directory",
        refusal(
            new Entry("a/", TarConstants.LF_DIR, null, null),
            symlink("a/s", ".."),
            symlink("a/t", "s/../..")));
  }

  @Test
  void unpack_writeThroughSymlink_refused() throws IOException {
    // The link itself stays inside (absolute targets count from the root), but nothing may be
    // written through it.
    assertEquals(
        "entry d/evil would be written through the symlink d",
        refusal(symlink("d", "/"), file("d/evil", "x")));
  }

  @Test
  void unpack_deviceFile_refused() throws IOException {
    assertEquals(
        "entry dev/sda is a device file or FIFO; images may not carry them",
        refusal(new Entry("dev/sda", TarConstants.LF_BLK, null, null)));
    assertTrue(
        refusal(new Entry("fifo", TarConstants.LF_FIFO, null, null))
            .contains("device file or FIFO"));
  }

  @Test
  void unpack_hardLinkOutside_refused() throws IOException {
    assertTrue(
        refusal(new Entry("h", TarConstants.LF_LINK, "../../etc/passwd", null))
            .contains("contains \"..\""));
  }

  @Test
  void unpack_overSizeLimit_refused() throws IOException {
    Path target = tmp.resolve("target");
    byte[] t = tar(false, file("big", "x".repeat(2000)));
    var e =
        assertThrows(
            SafeUnpacker.UnsafeArchiveException.class,
            () ->
                new SafeUnpacker(SafeUnpacker.Limits.of(1000, 10))
                    .unpack(new ByteArrayInputStream(t), target));
    assertEquals("entry big (2000 bytes) exceeds the limit of 1000 bytes", e.getMessage());
    assertFalse(Files.exists(target.resolve("big")));
  }

  @Test
  void unpack_whiteoutOfDotDot_refused_andNothingBesideTheTargetDeleted() throws IOException {
    Path sibling = Files.writeString(tmp.resolve("other-image"), "kept");
    Path target = tmp.resolve("target");
    for (String name : List.of(".wh...", "d/.wh...", ".wh..", ".wh.")) {
      var e =
          assertThrows(
              SafeUnpacker.UnsafeArchiveException.class,
              () ->
                  unpack(
                      target,
                      file("d/x", "1"),
                      new Entry(name, TarConstants.LF_NORMAL, null, new byte[0])));
      assertTrue(e.getMessage().startsWith("entry " + name + " is a whiteout of"), e.getMessage());
    }
    assertEquals("kept", Files.readString(sibling));
  }

  @Test
  void unpack_ordinaryWhiteout_hidesTheFile() throws IOException {
    Path target = tmp.resolve("t");
    unpack(
        target,
        file("d/x", "1"),
        file("d/y", "2"),
        new Entry("d/.wh.x", TarConstants.LF_NORMAL, null, new byte[0]));
    assertFalse(Files.exists(target.resolve("d/x")));
    assertTrue(Files.exists(target.resolve("d/y")));
  }

  @Test
  void unpack_entryUnderAFile_refusedNamingTheFile() throws IOException {
    Entry whiteout = new Entry("a/.wh.b", TarConstants.LF_NORMAL, null, new byte[0]);
    for (Entry under : List.of(whiteout, file("a/b", "2"), symlink("a/b/c", "x"))) {
      assertEquals(
          "entry "
              + under.name()
              + " lies under a, which an earlier entry made a file, not a directory",
          refusal(file("a", "1"), under));
    }
    assertEquals(
        "hard link h points at a/b, which is not a regular file unpacked before it",
        refusal(file("a", "1"), new Entry("h", TarConstants.LF_LINK, "a/b", null)));
  }

  @Test
  void unpack_hardLinkToItself_keepsTheFile() throws IOException {
    Path target = tmp.resolve("t");
    unpack(target, file("d/x", "1"), new Entry("d/x", TarConstants.LF_LINK, "d/x", null));
    assertEquals("1", Files.readString(target.resolve("d/x")));
  }

  @Test
  void unpack_hardLinkReplacingTheDirectoryOfItsTarget_refused() throws IOException {
    assertEquals(
        "hard link d -> d/x would replace the directory that holds its own target",
        refusal(file("d/x", "1"), new Entry("d", TarConstants.LF_LINK, "d/x", null)));
  }

  @Test
  void unpack_hardLinkAbsolute_refusedAsOutside() throws IOException {
    assertEquals(
        "hard link h -> /etc/passwd points outside the target directory (entry /etc/passwd has an absolute"
            + " path)",
        refusal(new Entry("h", TarConstants.LF_LINK, "/etc/passwd", null)));
  }

  @Test
  void unpack_hardLinkThroughSymlink_refused() throws IOException {
    assertTrue(
        refusal(symlink("s", "/"), new Entry("h", TarConstants.LF_LINK, "s/etc/passwd", null))
            .contains("would be written through the symlink s"));
  }

  @Test
  void unpack_charDevice_refused() throws IOException {
    assertEquals(
        "entry dev/null is a device file or FIFO; images may not carry them",
        refusal(new Entry("dev/null", TarConstants.LF_CHR, null, null)));
  }

  @Test
  void unpack_overSizeLimitAcrossEntries_isLimitExceeded_andReturnsBytesWritten()
      throws IOException {
    Path target = tmp.resolve("target");
    byte[] ok = tar(false, file("a", "x".repeat(600)));
    assertEquals(
        600,
        new SafeUnpacker(SafeUnpacker.Limits.of(1000, 10))
            .unpack(new ByteArrayInputStream(ok), target));
    byte[] t = tar(true, file("a", "x".repeat(600)), file("b", "y".repeat(600)));
    var e =
        assertThrows(
            SafeUnpacker.LimitExceededException.class,
            () ->
                new SafeUnpacker(SafeUnpacker.Limits.of(1000, 10))
                    .unpack(new ByteArrayInputStream(t), target));
    assertEquals(
        "entry b (600 bytes) exceeds the limit of 1000 bytes (600 already written)",
        e.getMessage());
    byte[] second = tar(false, file("c", "z".repeat(500)));
    var shared =
        assertThrows(
            SafeUnpacker.LimitExceededException.class,
            () ->
                new SafeUnpacker(SafeUnpacker.Limits.of(1000, 10))
                    .unpack(new ByteArrayInputStream(second), target, 600));
    assertEquals(
        "entry c (500 bytes) exceeds the limit of 1000 bytes (600 already written)",
        shared.getMessage());
  }

  @Test
  void unpack_brokenArchives_malformed() throws IOException {
    byte[] gz = tar(true, file("a", "x".repeat(5000)));
    byte[] truncated = Arrays.copyOf(gz, gz.length / 2);
    byte[] garbage = gz.clone();
    for (int i = 20; i < garbage.length - 8; i++) {
      garbage[i] = (byte) (i * 31);
    }
    byte[] notTar =
        "this is not a tar archive, nor gzip, and it goes on for a while"
            .repeat(20)
            .getBytes(StandardCharsets.UTF_8);
    for (byte[] broken : List.of(truncated, garbage, notTar)) {
      var e =
          assertThrows(
              SafeUnpacker.MalformedArchiveException.class,
              () ->
                  new SafeUnpacker(SafeUnpacker.Limits.of(1 << 20, 100))
                      .unpack(new ByteArrayInputStream(broken), tmp.resolve("t")));
      assertTrue(e.getMessage().startsWith("not a valid "), e.getMessage());
    }
  }

  @Test
  void unpack_tooManyEntries_refused() throws IOException {
    Path target = tmp.resolve("target");
    byte[] t = tar(false, file("a", "1"), file("b", "2"), file("c", "3"));
    assertEquals(
        "archive has more than 2 entries",
        assertThrows(
                SafeUnpacker.UnsafeArchiveException.class,
                () ->
                    new SafeUnpacker(SafeUnpacker.Limits.of(1000, 2))
                        .unpack(new ByteArrayInputStream(t), target))
            .getMessage());
  }
}
