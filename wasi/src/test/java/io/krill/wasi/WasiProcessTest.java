package io.krill.wasi;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class WasiProcessTest {
  private final TestGuest g =
      new TestGuest(
          new Wasi.Options().args(List.of("app.wasm", "héllo")).env(List.of("A=1", "B=")));

  @Test
  void argsAndSizes() {
    int argc = g.alloc(4);
    int size = g.alloc(4);
    assertEquals(0, g.wasi.argsSizesGet(g.mem, argc, size));
    assertEquals(2, g.mem.readInt(argc));
    assertEquals("app.wasm".length() + 1 + "héllo".getBytes().length + 1, g.mem.readInt(size));
    int argv = g.alloc(8);
    int buf = g.alloc(64);
    assertEquals(0, g.wasi.argsGet(g.mem, argv, buf));
    assertEquals(buf, g.mem.readInt(argv));
    assertEquals("app.wasm\0héllo\0", g.read(buf, g.mem.readInt(size)));
    assertEquals(buf + 9, g.mem.readInt(argv + 4));
  }

  @Test
  void environment() {
    int count = g.alloc(4);
    int size = g.alloc(4);
    assertEquals(0, g.wasi.environSizesGet(g.mem, count, size));
    assertEquals(2, g.mem.readInt(count));
    assertEquals(7, g.mem.readInt(size));
    int ptrs = g.alloc(8);
    int buf = g.alloc(16);
    assertEquals(0, g.wasi.environGet(g.mem, ptrs, buf));
    assertEquals("A=1\0B=\0", g.read(buf, 7));
  }

  @Test
  void outOfBoundsPointerIsFault() {
    assertEquals(Errno.FAULT, g.wasi.argsSizesGet(g.mem, (int) g.mem.size() - 2, 0));
    assertEquals(Errno.FAULT, g.wasi.argsSizesGet(g.mem, -4, 0));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3})
  void everyClockAnswers(int clock) {
    int res = g.alloc(8);
    int t = g.alloc(8);
    assertEquals(0, g.wasi.clockResGet(g.mem, clock, res));
    assertTrue(g.mem.readLong(res) > 0);
    assertEquals(0, g.wasi.clockTimeGet(g.mem, clock, 0, t));
    assertTrue(g.mem.readLong(t) > 0);
  }

  @Test
  void threadCpuTimeAdvancesWithWork() {
    int t = g.alloc(8);
    g.wasi.clockTimeGet(g.mem, Wasi.CLOCK_THREAD_CPUTIME, 0, t);
    long before = g.mem.readLong(t);
    long x = 0;
    for (int i = 0; i < 50_000_000; i++) {
      x += i ^ (x >>> 3);
    }
    g.wasi.clockTimeGet(g.mem, Wasi.CLOCK_PROCESS_CPUTIME, 0, t);
    assertTrue(g.mem.readLong(t) > before, "cpu time advanced (" + x + ")");
  }

  @Test
  void realtimeIsEpochNanos() {
    int t = g.alloc(8);
    g.wasi.clockTimeGet(g.mem, Wasi.CLOCK_REALTIME, 0, t);
    long ms = g.mem.readLong(t) / 1_000_000;
    assertTrue(Math.abs(ms - System.currentTimeMillis()) < 60_000);
  }

  @Test
  void unknownClockIsInval() {
    assertEquals(Errno.INVAL, g.wasi.clockTimeGet(g.mem, 4, 0, g.alloc(8)));
    assertEquals(Errno.INVAL, g.wasi.clockResGet(g.mem, 99, g.alloc(8)));
  }

  @Test
  void randomFillsTheBuffer() {
    int a = g.alloc(100_000);
    assertEquals(0, g.wasi.randomGet(g.mem, a, 100_000));
    byte[] first = new byte[100_000];
    g.mem.read(a, first, 0, first.length);
    assertNotEquals(0, java.util.Arrays.hashCode(first));
    assertEquals(0, g.wasi.randomGet(g.mem, a, 32));
    byte[] again = new byte[32];
    g.mem.read(a, again, 0, 32);
    assertThrows(
        AssertionError.class, () -> assertArrayEquals(java.util.Arrays.copyOf(first, 32), again));
    assertEquals(Errno.FAULT, g.wasi.randomGet(g.mem, (int) g.mem.size() - 4, 8));
    assertEquals(Errno.FAULT, g.wasi.randomGet(g.mem, 0, -1));
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 125, 126, 127, 200, 255})
  void procExitReportsEveryStatusUpTo255(int code) {
    ProcExit e = assertThrows(ProcExit.class, () -> g.wasi.procExit(code));
    assertEquals(code, e.code());
    assertNull(e.message());
  }

  @ParameterizedTest
  @ValueSource(ints = {256, 1000, -1})
  void procExitAbove255IsAnErrorWithStatus1(int code) {
    ProcExit e = assertThrows(ProcExit.class, () -> g.wasi.procExit(code));
    assertEquals(1, e.code());
    assertTrue(e.message().contains(Integer.toUnsignedString(code)), e.message());
  }

  @Test
  void schedYieldSucceedsUntilInterrupted() {
    assertEquals(0, g.wasi.schedYield());
    g.wasi.interruption().interrupt();
    assertThrows(GuestInterrupted.class, g.wasi::schedYield);
  }

  @Test
  void procRaiseIsNotSupported() {
    assertEquals(Errno.NOSYS, g.wasi.procRaise(6));
  }
}
