package io.krill.wasi;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.util.List;

/** A guest for the tests: a byte-array memory, a bump allocator, captured stdout and stderr. */
final class TestGuest {
  final ByteBufferMemory mem = ByteBufferMemory.allocate(1 << 20);
  final ByteArrayOutputStream stdout = new ByteArrayOutputStream();
  final ByteArrayOutputStream stderr = new ByteArrayOutputStream();
  final Wasi wasi;
  private int next = 1024;

  TestGuest(Wasi.Options options) {
    options.stdout(Channels.newChannel(stdout)).stderr(Channels.newChannel(stderr));
    wasi = new Wasi(options);
  }

  TestGuest(List<Mount> mounts) {
    this(new Wasi.Options().mounts(mounts));
  }

  /** {@code n} zeroed bytes of guest memory, 8-aligned. */
  int alloc(int n) {
    int at = next;
    next += (n + 7) & ~7;
    return at;
  }

  /** A string in memory; its length is {@link #len}. */
  int str(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    int at = alloc(b.length + 1);
    mem.write(at, b, 0, b.length);
    return at;
  }

  static int len(String s) {
    return s.getBytes(StandardCharsets.UTF_8).length;
  }

  /** One iovec over {@code buf}. */
  int iov(int buf, int len) {
    int at = alloc(8);
    mem.writeInt(at, buf);
    mem.writeInt(at + 4, len);
    return at;
  }

  String read(int at, int len) {
    byte[] b = new byte[len];
    mem.read(at, b, 0, len);
    return new String(b, StandardCharsets.UTF_8);
  }

  /** Opens {@code path} under {@code dirfd}; returns the fd, or fails with the errno. */
  int open(int dirfd, String path, int oflags, long rights, int fdflags) {
    int p = str(path);
    int fdp = alloc(4);
    int e = wasi.pathOpen(mem, dirfd, 1, p, len(path), oflags, rights, Rights.ALL, fdflags, fdp);
    if (e != 0) {
      throw new AssertionError("path_open " + path + ": errno " + e);
    }
    return mem.readInt(fdp);
  }

  int openErrno(int dirfd, String path, int oflags, long rights) {
    int p = str(path);
    return wasi.pathOpen(mem, dirfd, 1, p, len(path), oflags, rights, Rights.ALL, 0, alloc(4));
  }

  int write(int fd, String s) {
    int buf = str(s);
    int iov = iov(buf, len(s));
    int n = alloc(4);
    int e = wasi.fdWrite(mem, fd, iov, 1, n);
    return e != 0 ? -e : mem.readInt(n);
  }

  String readAll(int fd, int max) {
    int buf = alloc(max);
    int iov = iov(buf, max);
    int n = alloc(4);
    int e = wasi.fdRead(mem, fd, iov, 1, n);
    if (e != 0) {
      throw new AssertionError("fd_read: errno " + e);
    }
    return read(buf, mem.readInt(n));
  }

  static ByteBuffer bytes(String s) {
    return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
  }
}
