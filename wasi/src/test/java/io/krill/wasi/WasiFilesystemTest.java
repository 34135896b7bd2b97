package io.krill.wasi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WasiFilesystemTest {
  private static final long READ = Rights.FD_READ | Rights.FD_SEEK | Rights.FD_TELL;
  private static final long RW = READ | Rights.FD_WRITE;
  private static final int ROOT = 3;
  private static final int DATA = 4;
  private static final int CONFIG = 5;

  @TempDir Path tmp;
  private Path root;
  private Path data;
  private Path config;
  private Path outside;
  private TestGuest g;

  @BeforeEach
  void setUp() throws IOException {
    root = Files.createDirectories(tmp.resolve("rootfs"));
    data = Files.createDirectories(tmp.resolve("volume"));
    config = Files.createDirectories(tmp.resolve("config"));
    outside = Files.writeString(tmp.resolve("secret"), "host secret");
    Files.createDirectories(root.resolve("etc"));
    Files.writeString(root.resolve("etc/hosts.rootfs"), "rootfs file");
    Files.writeString(config.resolve("app.conf"), "conf");
    Path resolv = Files.writeString(tmp.resolve("resolv.conf"), "nameserver 10.0.0.10\n");
    g =
        new TestGuest(
            List.of(
                new Mount("/", root, false),
                new Mount("/data", data, false),
                new Mount("/config", config, true),
                new Mount("/etc/resolv.conf", resolv, true)));
  }

  private String prestatName(int fd) {
    int pre = g.alloc(8);
    assertEquals(0, g.wasi.fdPrestatGet(g.mem, fd, pre));
    assertEquals(0, g.mem.readByte(pre));
    int len = g.mem.readInt(pre + 4);
    int buf = g.alloc(len);
    assertEquals(0, g.wasi.fdPrestatDirName(g.mem, fd, buf, len));
    return g.read(buf, len);
  }

  @Test
  void directoryMountsArePreopensInOrderAndFileMountsAreNot() {
    assertEquals("/", prestatName(ROOT));
    assertEquals("/data", prestatName(DATA));
    assertEquals("/config", prestatName(CONFIG));
    assertEquals(Errno.BADF, g.wasi.fdPrestatGet(g.mem, 6, g.alloc(8)));
  }

  @Test
  void prestatDirNameRefusesATooSmallBuffer() {
    assertEquals(Errno.NAMETOOLONG, g.wasi.fdPrestatDirName(g.mem, DATA, g.alloc(8), 0));
    assertEquals(Errno.NAMETOOLONG, g.wasi.fdPrestatDirName(g.mem, DATA, g.alloc(8), 4));
  }

  /** wasi-libc and Rust's std reopen a preopen with the rights fd_fdstat_get reports for it. */
  @Test
  void aDirectoryReopensWithTheRightsItReports() {
    int stat = g.alloc(24);
    assertEquals(0, g.wasi.fdFdstatGet(g.mem, ROOT, stat));
    long base = g.mem.readLong(stat + 8);
    int fd = g.open(ROOT, ".", Wasi.OFLAGS_DIRECTORY, base, 0);
    assertEquals(0, g.wasi.fdFdstatGet(g.mem, fd, stat));
    assertEquals(base, g.mem.readLong(stat + 8));
    assertEquals(
        Errno.ISDIR,
        g.openErrno(ROOT, ".", Wasi.OFLAGS_DIRECTORY, Rights.FD_READ | Rights.FD_WRITE));
  }

  @Test
  void aSingleFileMountIsReadableThroughTheRootPreopen() {
    int fd = g.open(ROOT, "etc/resolv.conf", 0, READ, 0);
    assertEquals("nameserver 10.0.0.10\n", g.readAll(fd, 100));
    assertEquals("rootfs file", g.readAll(g.open(ROOT, "etc/hosts.rootfs", 0, READ, 0), 100));
  }

  @Test
  void aSingleFileMountIsListedAndStatted() {
    int fd = g.open(ROOT, "etc", 2, 0, 0);
    assertTrue(names(fd).contains("resolv.conf"));
    int st = g.alloc(64);
    String p = "etc/resolv.conf";
    assertEquals(0, g.wasi.pathFilestatGet(g.mem, ROOT, 1, g.str(p), TestGuest.len(p), st));
    assertEquals(Descriptor.FILETYPE_REGULAR_FILE, g.mem.readByte(st + 16));
    assertEquals(21, g.mem.readLong(st + 32));
  }

  @Test
  void mountsBelowPathsTheTreeLacksAreReachedThroughVirtualDirectories() throws IOException {
    Path bare = Files.createDirectories(tmp.resolve("bare"));
    Path deep = Files.createDirectories(tmp.resolve("deep"));
    Files.writeString(deep.resolve("x"), "deep x");
    TestGuest t =
        new TestGuest(
            List.of(
                new Mount("/", bare, true),
                new Mount("/etc/resolv.conf", tmp.resolve("resolv.conf"), true),
                new Mount("/a/b/c", deep, false)));
    assertEquals(
        "nameserver 10.0.0.10\n", t.readAll(t.open(ROOT, "etc/resolv.conf", 0, READ, 0), 99));
    assertEquals("deep x", t.readAll(t.open(ROOT, "a/b/c/x", 0, READ, 0), 99));
    assertEquals("deep x", t.readAll(t.open(ROOT, "a/b/../b/c/x", 0, READ, 0), 99));
    int etc = t.open(ROOT, "etc", 2, 0, 0);
    int st = t.alloc(64);
    assertEquals(0, t.wasi.fdFilestatGet(t.mem, etc, st));
    assertEquals(Descriptor.FILETYPE_DIRECTORY, t.mem.readByte(st + 16));
    TestGuest saved = g;
    g = t;
    try {
      assertEquals(List.of(".", "..", "resolv.conf"), names(etc));
      List<String> root = names(ROOT);
      assertEquals(List.of(".", ".."), root.subList(0, 2));
      assertEquals(List.of("a", "etc"), root.subList(2, root.size()).stream().sorted().toList());
    } finally {
      g = saved;
    }
    assertEquals(Errno.NOENT, t.openErrno(ROOT, "etc/other", 0, READ));
  }

  /** As POSIX read(2)/write(2) on a descriptor not opened for it: EBADF, what the suite expects. */
  @Test
  void readingOrWritingADescriptorNotOpenedForItIsBadf() throws IOException {
    Files.writeString(data.resolve("f"), "data");
    int ro = g.open(DATA, "f", 0, READ, 0);
    assertEquals(-Errno.BADF, g.write(ro, "x"));
    int iov = g.iov(g.alloc(4), 4);
    assertEquals(Errno.BADF, g.wasi.fdPwrite(g.mem, ro, iov, 1, 0, g.alloc(4)));
    int wo = g.open(DATA, "f", 0, Rights.FD_WRITE, 0);
    assertEquals(Errno.BADF, g.wasi.fdRead(g.mem, wo, iov, 1, g.alloc(4)));
    assertEquals(Errno.BADF, g.wasi.fdPread(g.mem, wo, iov, 1, 0, g.alloc(4)));
  }

  /** As linkat(2): a new name with a trailing slash names a directory that does not exist. */
  @Test
  void aHardLinkToAFileNamedWithATrailingSlashIsNoent() throws IOException {
    Files.writeString(data.resolve("file"), "data");
    assertEquals(
        Errno.NOENT, g.wasi.pathLink(g.mem, DATA, 0, g.str("file"), 4, DATA, g.str("link/"), 5));
    assertFalse(Files.exists(data.resolve("link"), LinkOption.NOFOLLOW_LINKS));
    assertEquals(0, g.wasi.pathLink(g.mem, DATA, 0, g.str("file"), 4, DATA, g.str("link"), 4));
  }

  @Test
  void readOnlyMountsRefuseWrites() {
    assertEquals(Errno.ROFS, g.openErrno(ROOT, "etc/resolv.conf", 0, RW));
    assertEquals(Errno.ROFS, g.openErrno(CONFIG, "new", 1, RW));
    assertEquals(Errno.ROFS, g.openErrno(CONFIG, "app.conf", 8, RW));
    String d = "sub";
    assertEquals(Errno.ROFS, g.wasi.pathCreateDirectory(g.mem, CONFIG, g.str(d), 3));
    String f = "app.conf";
    assertEquals(Errno.ROFS, g.wasi.pathUnlinkFile(g.mem, CONFIG, g.str(f), 8));
    int fd = g.open(CONFIG, "app.conf", 0, READ, 0);
    assertEquals(-Errno.BADF, g.write(fd, "x"));
    assertEquals("conf", g.readAll(fd, 10));
  }

  @Test
  void writeSeekTellPreadPwriteAndSizes() throws IOException {
    int fd = g.open(DATA, "f.txt", 1, RW, 0);
    assertEquals(5, g.write(fd, "hello"));
    int off = g.alloc(8);
    assertEquals(0, g.wasi.fdTell(g.mem, fd, off));
    assertEquals(5, g.mem.readLong(off));
    assertEquals(0, g.wasi.fdSeek(g.mem, fd, -2, Wasi.WHENCE_END, off));
    assertEquals(3, g.mem.readLong(off));
    assertEquals("lo", g.readAll(fd, 10));
    assertEquals(Errno.INVAL, g.wasi.fdSeek(g.mem, fd, -10, Wasi.WHENCE_CUR, off));
    int buf = g.str("J");
    assertEquals(0, g.wasi.fdPwrite(g.mem, fd, g.iov(buf, 1), 1, 0, g.alloc(4)));
    int rb = g.alloc(8);
    int n = g.alloc(4);
    assertEquals(0, g.wasi.fdPread(g.mem, fd, g.iov(rb, 3), 1, 1, n));
    assertEquals("ell", g.read(rb, g.mem.readInt(n)));
    assertEquals("Jello", Files.readString(data.resolve("f.txt")));
    assertEquals(0, g.wasi.fdFilestatSetSize(fd, 2));
    assertEquals("Je", Files.readString(data.resolve("f.txt")));
    assertEquals(0, g.wasi.fdAllocate(fd, 0, 10));
    int st = g.alloc(64);
    assertEquals(0, g.wasi.fdFilestatGet(g.mem, fd, st));
    assertEquals(Descriptor.FILETYPE_REGULAR_FILE, g.mem.readByte(st + 16));
    assertEquals(10, g.mem.readLong(st + 32));
    assertEquals(1, g.mem.readLong(st + 24));
    assertEquals(0, g.wasi.fdSync(fd));
    assertEquals(0, g.wasi.fdDatasync(fd));
    assertEquals(0, g.wasi.fdAdvise(fd, 0, 10, 1));
    assertEquals(0, g.wasi.fdClose(fd));
  }

  @Test
  void appendModeWritesAtTheEnd() throws IOException {
    Files.writeString(data.resolve("log"), "one\n");
    int fd = g.open(DATA, "log", 0, RW, Wasi.FDFLAGS_APPEND);
    assertEquals(4, g.write(fd, "two\n"));
    assertEquals("one\ntwo\n", Files.readString(data.resolve("log")));
  }

  @Test
  void openFlagsBehaveLikePosix() throws IOException {
    Files.writeString(data.resolve("x"), "content");
    assertEquals(Errno.EXIST, g.openErrno(DATA, "x", 1 | 4, RW));
    assertEquals(Errno.NOENT, g.openErrno(DATA, "missing", 0, READ));
    assertEquals(Errno.NOTDIR, g.openErrno(DATA, "x", 2, READ));
    assertEquals(Errno.NOTDIR, g.openErrno(DATA, "x/", 0, READ));
    g.open(DATA, "x", 8, RW, 0);
    assertEquals("", Files.readString(data.resolve("x")));
  }

  @Test
  void aDirectoryCannotBeOpenedForWriting() throws IOException {
    Files.createDirectory(data.resolve("d"));
    assertEquals(Errno.ISDIR, g.openErrno(DATA, "d", 0, RW));
    int fd = g.open(DATA, "d", 2, READ, 0);
    int st = g.alloc(24);
    assertEquals(0, g.wasi.fdFdstatGet(g.mem, fd, st));
    assertEquals(Descriptor.FILETYPE_DIRECTORY, g.mem.readByte(st));
    assertEquals(-Errno.ISDIR, g.write(fd, "x"));
  }

  /**
   * Go's os.ReadDir opens a directory as any file read-only: path_open without O_DIRECTORY, asking
   * for every file right but FD_WRITE, FD_DATASYNC and FD_ALLOCATE (FD_FILESTAT_SET_SIZE among
   * them). Wasmtime gives it the directory, which then lists.
   */
  @Test
  void aDirectoryOpensWithGosReadOnlyFileRights() throws IOException {
    Files.createDirectory(data.resolve("d"));
    Files.writeString(data.resolve("d/f"), "");
    long goReadOnly =
        Rights.ALL
            & ~(Rights.FD_WRITE
                | Rights.FD_DATASYNC
                | Rights.FD_ALLOCATE
                | (1L << 19) // path_filestat_set_size
                | Rights.SOCK_SHUTDOWN
                | Rights.SOCK_ACCEPT);
    int fd = g.open(DATA, "d", 0, goReadOnly, 0);
    int st = g.alloc(24);
    assertEquals(0, g.wasi.fdFdstatGet(g.mem, fd, st));
    assertEquals(Descriptor.FILETYPE_DIRECTORY, g.mem.readByte(st));
    assertEquals(List.of(".", "..", "f"), names(fd));
    assertEquals(
        Errno.ISDIR, g.openErrno(DATA, "d", 0, Rights.FD_READ | Rights.FD_FILESTAT_SET_SIZE | RW));
  }

  @Test
  void escapesAreRefusedWithEperm() throws IOException {
    Files.createSymbolicLink(data.resolve("abs"), outside);
    Files.createSymbolicLink(data.resolve("up"), Path.of("../secret"));
    Files.createDirectory(data.resolve("sub"));
    assertEquals(Errno.PERM, g.openErrno(DATA, "../secret", 0, READ));
    assertEquals(Errno.PERM, g.openErrno(DATA, "sub/../../secret", 0, READ));
    assertEquals(Errno.PERM, g.openErrno(DATA, "/secret", 0, READ));
    assertEquals(Errno.PERM, g.openErrno(DATA, "abs", 0, READ));
    assertEquals(Errno.PERM, g.openErrno(DATA, "up", 0, READ));
    assertEquals(Errno.PERM, g.openErrno(ROOT, "..", 0, READ));
    int sub = g.open(DATA, "sub", 2, 0, 0);
    assertEquals(Errno.PERM, g.openErrno(sub, "..", 0, READ));
  }

  @Test
  void symlinksResolveInsideTheTree() throws IOException {
    Files.createDirectories(data.resolve("a/b"));
    Files.writeString(data.resolve("a/b/file"), "deep");
    Files.createSymbolicLink(data.resolve("a/link"), Path.of("b/file"));
    Files.createSymbolicLink(data.resolve("a/b/back"), Path.of("../link"));
    Files.createSymbolicLink(data.resolve("loop"), Path.of("loop"));
    assertEquals("deep", g.readAll(g.open(DATA, "a/b/back", 0, READ, 0), 10));
    assertEquals("deep", g.readAll(g.open(DATA, "a/./b/../link", 0, READ, 0), 10));
    assertEquals(Errno.LOOP, g.openErrno(DATA, "loop", 0, READ));
    String p = "a/link";
    int st = g.alloc(64);
    assertEquals(0, g.wasi.pathFilestatGet(g.mem, DATA, 0, g.str(p), p.length(), st));
    assertEquals(Descriptor.FILETYPE_SYMBOLIC_LINK, g.mem.readByte(st + 16));
    assertEquals(0, g.wasi.pathFilestatGet(g.mem, DATA, 1, g.str(p), p.length(), st));
    assertEquals(Descriptor.FILETYPE_REGULAR_FILE, g.mem.readByte(st + 16));
  }

  @Test
  void symlinkAndReadlinkTruncating() throws IOException {
    String target = "some/target";
    String link = "ln";
    assertEquals(
        0, g.wasi.pathSymlink(g.mem, g.str(target), target.length(), DATA, g.str(link), 2));
    assertEquals(Path.of("some/target"), Files.readSymbolicLink(data.resolve("ln")));
    int buf = g.alloc(32);
    int used = g.alloc(4);
    assertEquals(0, g.wasi.pathReadlink(g.mem, DATA, g.str(link), 2, buf, 32, used));
    assertEquals("some/target", g.read(buf, g.mem.readInt(used)));
    assertEquals(0, g.wasi.pathReadlink(g.mem, DATA, g.str(link), 2, buf, 4, used));
    assertEquals(4, g.mem.readInt(used));
    assertEquals("some", g.read(buf, 4));
    String abs = "/etc/passwd";
    assertEquals(
        Errno.PERM, g.wasi.pathSymlink(g.mem, g.str(abs), abs.length(), DATA, g.str("l2"), 2));
    Files.writeString(data.resolve("plain"), "");
    assertEquals(Errno.INVAL, g.wasi.pathReadlink(g.mem, DATA, g.str("plain"), 5, buf, 32, used));
  }

  @Test
  void createAndRemoveDirectoriesAndFiles() throws IOException {
    assertEquals(0, g.wasi.pathCreateDirectory(g.mem, DATA, g.str("dir"), 3));
    assertTrue(Files.isDirectory(data.resolve("dir")));
    assertEquals(Errno.EXIST, g.wasi.pathCreateDirectory(g.mem, DATA, g.str("dir"), 3));
    Files.writeString(data.resolve("dir/f"), "");
    assertEquals(Errno.NOTEMPTY, g.wasi.pathRemoveDirectory(g.mem, DATA, g.str("dir"), 3));
    assertEquals(Errno.ISDIR, g.wasi.pathUnlinkFile(g.mem, DATA, g.str("dir"), 3));
    assertEquals(Errno.NOTDIR, g.wasi.pathRemoveDirectory(g.mem, DATA, g.str("dir/f"), 5));
    assertEquals(Errno.NOTDIR, g.wasi.pathUnlinkFile(g.mem, DATA, g.str("dir/f/"), 6));
    assertEquals(0, g.wasi.pathUnlinkFile(g.mem, DATA, g.str("dir/f"), 5));
    assertEquals(0, g.wasi.pathRemoveDirectory(g.mem, DATA, g.str("dir/"), 4));
    assertFalse(Files.exists(data.resolve("dir")));
    assertEquals(Errno.NOENT, g.wasi.pathUnlinkFile(g.mem, DATA, g.str("dir"), 3));
  }

  @Test
  void renameWithinAMountAndNotAcross() throws IOException {
    Files.writeString(data.resolve("a"), "A");
    assertEquals(0, g.wasi.pathRename(g.mem, DATA, g.str("a"), 1, DATA, g.str("b"), 1));
    assertEquals("A", Files.readString(data.resolve("b")));
    assertEquals(Errno.XDEV, g.wasi.pathRename(g.mem, DATA, g.str("b"), 1, ROOT, g.str("b"), 1));
    assertEquals(Errno.NOENT, g.wasi.pathRename(g.mem, DATA, g.str("a"), 1, DATA, g.str("c"), 1));
    Files.createDirectory(data.resolve("d"));
    assertEquals(Errno.ISDIR, g.wasi.pathRename(g.mem, DATA, g.str("b"), 1, DATA, g.str("d"), 1));
  }

  @Test
  void hardLinks() throws IOException {
    Files.writeString(data.resolve("orig"), "o");
    assertEquals(0, g.wasi.pathLink(g.mem, DATA, 0, g.str("orig"), 4, DATA, g.str("copy"), 4));
    assertEquals("o", Files.readString(data.resolve("copy")));
    assertEquals(
        Errno.EXIST, g.wasi.pathLink(g.mem, DATA, 0, g.str("orig"), 4, DATA, g.str("copy"), 4));
  }

  private List<String> names(int fd) {
    List<String> names = new ArrayList<>();
    int buf = g.alloc(4096);
    int used = g.alloc(4);
    assertEquals(0, g.wasi.fdReaddir(g.mem, fd, buf, 4096, 0, used));
    int end = buf + g.mem.readInt(used);
    for (int at = buf; at < end; ) {
      int len = g.mem.readInt(at + 16);
      names.add(g.read(at + 24, len));
      at += 24 + len;
    }
    return names;
  }

  @Test
  void readdirListsDotEntriesFirstThenEveryEntry() throws IOException {
    Files.writeString(data.resolve("file"), "");
    Files.createDirectory(data.resolve("dir"));
    List<String> names = names(DATA);
    assertEquals(List.of(".", ".."), names.subList(0, 2));
    assertEquals(List.of("dir", "file"), names.subList(2, 4).stream().sorted().toList());
    assertEquals(4, names.size());
  }

  @Test
  void readdirCookiesResumeAndSmallBuffersAreFilled() throws IOException {
    for (String n : List.of("aa", "bb", "cc")) {
      Files.writeString(data.resolve(n), "");
    }
    int buf = g.alloc(4096);
    int used = g.alloc(4);
    // A buffer that holds one header and part of the name: filled, so the guest asks again.
    assertEquals(0, g.wasi.fdReaddir(g.mem, DATA, buf, 25, 0, used));
    assertEquals(25, g.mem.readInt(used));
    assertEquals(1, g.mem.readLong(buf));
    List<String> seen = new ArrayList<>();
    long cookie = 0;
    while (true) {
      assertEquals(0, g.wasi.fdReaddir(g.mem, DATA, buf, 4096, cookie, used));
      if (g.mem.readInt(used) == 0) {
        break;
      }
      int len = g.mem.readInt(buf + 16);
      seen.add(g.read(buf + 24, len));
      cookie = g.mem.readLong(buf);
    }
    assertEquals(5, seen.size());
    assertEquals(List.of("aa", "bb", "cc"), seen.subList(2, 5).stream().sorted().toList());
    assertEquals(Errno.NOTDIR, g.wasi.fdReaddir(g.mem, 1, buf, 4096, 0, used));
  }

  @Test
  void renumberOntoAnUnusedFdIsBadf() {
    assertEquals(Errno.BADF, g.wasi.fdRenumber(DATA, 40));
    int fd = g.open(DATA, ".", 2, 0, 0);
    assertEquals(0, g.wasi.fdRenumber(fd, CONFIG));
    assertEquals(Errno.BADF, g.wasi.fdClose(fd));
    assertEquals(Errno.BADF, g.wasi.fdPrestatGet(g.mem, CONFIG, g.alloc(8)));
  }

  @Test
  void filestatTimesCanBeSet() throws IOException {
    Files.writeString(data.resolve("t"), "");
    String p = "t";
    long when = 1_000_000_000_000_000_000L;
    assertEquals(0, g.wasi.pathFilestatSetTimes(g.mem, DATA, 1, g.str(p), 1, when, when, 1 | 4));
    assertEquals(
        when / 1_000_000_000L,
        Files.getLastModifiedTime(data.resolve("t")).to(java.util.concurrent.TimeUnit.SECONDS));
    assertEquals(Errno.INVAL, g.wasi.fdFilestatSetTimes(DATA, 0, 0, 1 | 2));
  }

  @Test
  void snapshot0LayoutsDiffer() throws IOException {
    Files.writeString(data.resolve("s"), "12345");
    WasiUnstable u = new WasiUnstable(g.wasi);
    int fd = g.open(DATA, "s", 0, READ, 0);
    int off = g.alloc(8);
    assertEquals(0, u.fdSeek(g.mem, fd, 2, 2, off)); // set
    assertEquals(2, g.mem.readLong(off));
    assertEquals(0, u.fdSeek(g.mem, fd, 1, 0, off)); // cur
    assertEquals(3, g.mem.readLong(off));
    assertEquals(0, u.fdSeek(g.mem, fd, 0, 1, off)); // end
    assertEquals(5, g.mem.readLong(off));
    int st = g.alloc(56);
    assertEquals(0, u.fdFilestatGet(g.mem, fd, st));
    assertEquals(Descriptor.FILETYPE_REGULAR_FILE, g.mem.readByte(st + 16));
    assertEquals(1, g.mem.readInt(st + 20));
    assertEquals(5, g.mem.readLong(st + 24));
    assertEquals(0, u.pathFilestatGet(g.mem, DATA, 0, g.str("s"), 1, st));
    assertEquals(5, g.mem.readLong(st + 24));
    int in = g.alloc(56);
    g.mem.writeLong(in, 9);
    g.mem.writeByte(in + 8, (byte) 0);
    g.mem.writeInt(in + 24, Wasi.CLOCK_MONOTONIC);
    g.mem.writeLong(in + 32, 1000);
    int out = g.alloc(32);
    int n = g.alloc(4);
    assertEquals(0, u.pollOneoff(g.mem, in, out, 1, n));
    assertEquals(1, g.mem.readInt(n));
    assertEquals(9, g.mem.readLong(out));
  }

  @Test
  void everyFunctionOfBothModulesIsDefinedOnce() {
    List<HostFunction> all = WasiFunctions.all();
    assertEquals(46, WasiFunctions.preview1().size());
    assertEquals(45, WasiFunctions.unstable().size());
    assertEquals(all.size(), all.stream().map(f -> f.module() + "." + f.name()).distinct().count());
    HostFunction write =
        all.stream()
            .filter(f -> f.module().equals("wasi_unstable") && f.name().equals("fd_write"))
            .findFirst()
            .orElseThrow();
    int s = g.str("via table");
    int iov = g.iov(s, 9);
    assertEquals(0, write.body().call(g.wasi, g.mem, new long[] {1, iov, 1, g.alloc(4)}));
    assertEquals("via table", g.stdout.toString(StandardCharsets.UTF_8));
  }
}
