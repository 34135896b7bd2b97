package io.krill.wasi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

class WasiStdioTest {
  /** A stdin of queued chunks, then end of input. */
  static final class QueueStdin implements Stdin {
    final Deque<byte[]> chunks = new ArrayDeque<>();
    boolean ended;

    @Override
    public synchronized int read(ByteBuffer dst) {
      byte[] c = chunks.poll();
      if (c == null) {
        return -1;
      }
      int n = Math.min(c.length, dst.remaining());
      dst.put(c, 0, n);
      if (n < c.length) {
        chunks.addFirst(java.util.Arrays.copyOfRange(c, n, c.length));
      }
      return n;
    }

    @Override
    public synchronized boolean ready() {
      return !chunks.isEmpty() || ended;
    }
  }

  private final QueueStdin stdin = new QueueStdin();
  private final TestGuest g = new TestGuest(new Wasi.Options().stdin(stdin));

  @Test
  void writesGoToStdoutAndStderrWhole() {
    int a = g.str("hello ");
    int b = g.str("world\n");
    int iovs = g.alloc(16);
    g.mem.writeInt(iovs, a);
    g.mem.writeInt(iovs + 4, 6);
    g.mem.writeInt(iovs + 8, b);
    g.mem.writeInt(iovs + 12, 6);
    int n = g.alloc(4);
    assertEquals(0, g.wasi.fdWrite(g.mem, 1, iovs, 2, n));
    assertEquals(12, g.mem.readInt(n));
    assertEquals("hello world\n", g.stdout.toString(StandardCharsets.UTF_8));
    assertEquals(3, g.write(2, "err"));
    assertEquals("err", g.stderr.toString(StandardCharsets.UTF_8));
  }

  @Test
  void stdinIsReadToItsEnd() {
    stdin.chunks.add("abc".getBytes());
    stdin.chunks.add("defgh".getBytes());
    assertEquals("abc", g.readAll(0, 64));
    assertEquals("de", g.readAll(0, 2));
    assertEquals("fgh", g.readAll(0, 64));
    assertEquals("", g.readAll(0, 64));
  }

  @Test
  void streamsTheContainerDoesNotHave_areDevNull() {
    TestGuest none = new TestGuest(new Wasi.Options());
    Wasi bare = new Wasi(new Wasi.Options());
    // As TestGuest wires stdout and stderr, ask a bare Wasi over the same memory.
    int iov = none.iov(none.str("x"), 1);
    int n = none.alloc(4);
    assertEquals(0, bare.fdWrite(none.mem, 1, iov, 1, n));
    assertEquals(1, none.mem.readInt(n));
    assertEquals(0, bare.fdWrite(none.mem, 2, iov, 1, n));
    int in = none.iov(none.alloc(8), 8);
    assertEquals(0, bare.fdRead(none.mem, 0, in, 1, n));
    assertEquals(0, none.mem.readInt(n), "stdin ends at once");
  }

  @Test
  void badDescriptorsAndWrongDirections() {
    assertEquals(-Errno.BADF, g.write(9, "x"));
    assertEquals(-Errno.BADF, g.write(0, "x"));
    int iov = g.iov(g.alloc(4), 4);
    assertEquals(Errno.BADF, g.wasi.fdRead(g.mem, 1, iov, 1, g.alloc(4)));
    assertEquals(Errno.FAULT, g.wasi.fdWrite(g.mem, 1, (int) g.mem.size() - 4, 1, g.alloc(4)));
  }

  @Test
  void stdioFdstatAndSeek() {
    int st = g.alloc(24);
    assertEquals(0, g.wasi.fdFdstatGet(g.mem, 1, st));
    assertEquals(Rights.FD_WRITE, g.mem.readLong(st + 8) & Rights.FD_WRITE);
    assertEquals(0, g.mem.readLong(st + 8) & Rights.FD_SEEK);
    assertEquals(Errno.SPIPE, g.wasi.fdSeek(g.mem, 1, 0, Wasi.WHENCE_CUR, g.alloc(8)));
    assertEquals(Errno.SPIPE, g.wasi.fdTell(g.mem, 0, g.alloc(8)));
    assertEquals(0, g.wasi.fdFdstatSetFlags(1, Wasi.FDFLAGS_NONBLOCK));
    assertEquals(0, g.wasi.fdFdstatGet(g.mem, 1, st));
    assertEquals(Wasi.FDFLAGS_NONBLOCK, g.mem.readShort(st + 2));
    assertEquals(Errno.BADF, g.wasi.fdFdstatGet(g.mem, 7, st));
    assertEquals(Errno.BADF, g.wasi.fdPrestatGet(g.mem, 1, st));
  }

  /**
   * Rights are not narrowed, so fd_fdstat_set_rights says so (ENOTSUP) rather than claim a
   * narrowing it does not enforce; the descriptor keeps working.
   */
  @Test
  void socketCallsFindNoSocketAndSetRightsIsNotSupported() {
    assertEquals(Errno.NOTSOCK, g.wasi.sockShutdown(1, Wasi.SDFLAGS_WR));
    assertEquals(Errno.NOTSOCK, g.wasi.sockAccept(g.mem, 1, 0, g.alloc(4)));
    assertEquals(Errno.BADF, g.wasi.sockShutdown(33, Wasi.SDFLAGS_WR));
    assertEquals(Errno.NOTSUP, g.wasi.fdFdstatSetRights(1, 0, 0));
    assertEquals(Errno.BADF, g.wasi.fdFdstatSetRights(33, 0, 0));
    assertEquals(1, g.write(1, "x"));
  }

  @Test
  void closeAndRenumber() {
    assertEquals(Errno.BADF, g.wasi.fdRenumber(1, 40));
    assertEquals(0, g.wasi.fdRenumber(2, 1));
    assertEquals(1, g.write(1, "x"));
    assertEquals("x", g.stderr.toString(StandardCharsets.UTF_8));
    assertEquals(-Errno.BADF, g.write(2, "x"));
    assertEquals(0, g.wasi.fdClose(1));
    assertEquals(Errno.BADF, g.wasi.fdClose(1));
  }

  private int clockSub(int at, long userdata, long timeoutNanos) {
    g.mem.writeLong(at, userdata);
    g.mem.writeByte(at + 8, (byte) Wasi.EVENTTYPE_CLOCK);
    g.mem.writeInt(at + 16, Wasi.CLOCK_MONOTONIC);
    g.mem.writeLong(at + 24, timeoutNanos);
    g.mem.writeShort(at + 40, (short) 0);
    return at;
  }

  private void fdSub(int at, long userdata, int type, int fd) {
    g.mem.writeLong(at, userdata);
    g.mem.writeByte(at + 8, (byte) type);
    g.mem.writeInt(at + 16, fd);
  }

  @Test
  void pollSleepsOnAClock() {
    int in = g.alloc(48);
    clockSub(in, 42, 1_000_000);
    int out = g.alloc(32);
    int n = g.alloc(4);
    assertEquals(0, g.wasi.pollOneoff(g.mem, in, out, 1, n));
    assertEquals(1, g.mem.readInt(n));
    assertEquals(42, g.mem.readLong(out));
    assertEquals(0, g.mem.readShort(out + 8));
    assertEquals(Wasi.EVENTTYPE_CLOCK, g.mem.readByte(out + 10));
  }

  @Test
  void pollOnStdinReportsReadiness() {
    int in = g.alloc(96);
    fdSub(in, 7, Wasi.EVENTTYPE_FD_READ, 0);
    clockSub(in + 48, 8, 60_000_000_000L);
    stdin.chunks.add("x".getBytes());
    int out = g.alloc(64);
    int n = g.alloc(4);
    assertEquals(0, g.wasi.pollOneoff(g.mem, in, out, 2, n));
    assertEquals(1, g.mem.readInt(n));
    assertEquals(7, g.mem.readLong(out));
    assertEquals(Wasi.EVENTTYPE_FD_READ, g.mem.readByte(out + 10));
  }

  @Test
  void pollOnEmptyStdinTimesOutOnTheClock() {
    int in = g.alloc(96);
    fdSub(in, 7, Wasi.EVENTTYPE_FD_READ, 0);
    clockSub(in + 48, 8, 1_000_000);
    int out = g.alloc(64);
    int n = g.alloc(4);
    assertEquals(0, g.wasi.pollOneoff(g.mem, in, out, 2, n));
    assertEquals(1, g.mem.readInt(n));
    assertEquals(8, g.mem.readLong(out));
  }

  @Test
  void pollOnStdoutIsWritableAndOnABadFdAnError() {
    int in = g.alloc(96);
    fdSub(in, 1, Wasi.EVENTTYPE_FD_WRITE, 1);
    fdSub(in + 48, 2, Wasi.EVENTTYPE_FD_READ, 77);
    int out = g.alloc(64);
    int n = g.alloc(4);
    assertEquals(0, g.wasi.pollOneoff(g.mem, in, out, 2, n));
    assertEquals(2, g.mem.readInt(n));
    assertEquals(0, g.mem.readShort(out + 8));
    assertEquals(Errno.BADF, g.mem.readShort(out + 32 + 8));
  }

  @Test
  void pollWithNoSubscriptionIsInval() {
    assertEquals(Errno.INVAL, g.wasi.pollOneoff(g.mem, g.alloc(48), g.alloc(32), 0, g.alloc(4)));
  }

  @Test
  void aSleepEndsWhenInterrupted() throws Exception {
    int in = g.alloc(48);
    clockSub(in, 1, 600_000_000_000L);
    Thread t = new Thread(() -> g.wasi.interruption().interrupt());
    t.start();
    assertThrows(
        GuestInterrupted.class, () -> g.wasi.pollOneoff(g.mem, in, g.alloc(32), 1, g.alloc(4)));
    t.join();
  }

  @Test
  void stdinReadAfterInterruptionThrows() {
    stdin.ended = true;
    g.wasi.interruption().interrupt();
    int iov = g.iov(g.alloc(4), 4);
    assertThrows(GuestInterrupted.class, () -> g.wasi.fdRead(g.mem, 0, iov, 1, g.alloc(4)));
  }

  @Test
  void stdioStaysTheCallersAfterCloseAndFdClose() throws IOException {
    java.nio.file.Path f = java.nio.file.Files.createTempFile("wasi", ".out");
    try (java.nio.channels.FileChannel ch =
        java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
      Wasi w = new Wasi(new Wasi.Options().stdout(ch).stderr(ch).mounts(List.of()));
      assertEquals(0, w.fdClose(2));
      assertEquals(true, ch.isOpen());
      w.close();
      assertEquals(true, ch.isOpen());
    } finally {
      java.nio.file.Files.delete(f);
    }
  }
}
