package io.krill.engine.chicory;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.runtime.WasmRuntimeException;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import org.junit.jupiter.api.Test;

class OffHeapMemoryTest {
  private static final int PAGE = Memory.PAGE_SIZE;

  @Test
  void grows_withinItsMaximum_keepingItsBytes() {
    OffHeapMemory m = new OffHeapMemory(new MemoryLimits(1, 3));
    m.writeI32(PAGE - 4, 0x01020304);
    assertEquals(1, m.grow(1));
    assertEquals(2, m.pages());
    assertEquals(0x01020304, m.readInt(PAGE - 4));
    assertEquals(0, m.readLong(PAGE), "new pages read zero");
    assertEquals(-1, m.grow(2), "beyond the maximum");
    assertEquals(2, m.grow(0));
    assertEquals(2, m.grow(1));
    assertEquals(3, m.pages());
    assertEquals(-1, m.grow(1));
  }

  @Test
  void accessOutsideTheCurrentSize_traps_evenWithinTheReservation() {
    OffHeapMemory m = new OffHeapMemory(new MemoryLimits(1, 4));
    assertThrows(WasmRuntimeException.class, () -> m.readInt(PAGE - 3));
    assertThrows(WasmRuntimeException.class, () -> m.writeByte(PAGE, (byte) 1));
    assertThrows(WasmRuntimeException.class, () -> m.readLong(-8));
    assertThrows(WasmRuntimeException.class, () -> m.readBytes(PAGE - 1, 2));
    assertThrows(WasmRuntimeException.class, () -> m.write(PAGE - 1, new byte[2], 0, 2));
    assertThrows(WasmRuntimeException.class, () -> m.fill((byte) 1, PAGE - 1, PAGE + 1));
    assertThrows(WasmRuntimeException.class, () -> m.copy(0, PAGE - 1, 2));
    m.grow(1);
    m.writeByte(PAGE, (byte) 1);
    assertEquals(1, m.read(PAGE));
  }

  @Test
  void littleEndian_valuesRoundTrip() {
    OffHeapMemory m = new OffHeapMemory(new MemoryLimits(1, 1));
    m.writeI32(0, 0x11223344);
    assertEquals(0x44, m.read(0));
    m.writeLong(8, -2L);
    assertEquals(-2L, m.readLong(8));
    m.writeShort(16, (short) -1);
    assertEquals(0xffff, m.readU16(16));
    assertEquals((short) -1, m.readShort(16));
    m.writeF32(20, 1.5f);
    assertEquals(1.5f, m.readFloat(20));
    assertEquals(Float.floatToRawIntBits(1.5f), (int) m.readF32(20));
    m.writeF64(24, -0.25);
    assertEquals(-0.25, m.readDouble(24));
    assertEquals(Double.doubleToRawLongBits(-0.25), m.readF64(24));
  }

  @Test
  void copy_overlappingEitherWay_isAMove() {
    OffHeapMemory m = new OffHeapMemory(new MemoryLimits(1, 1));
    m.write(0, new byte[] {1, 2, 3, 4, 5}, 0, 5);
    m.copy(1, 0, 4);
    assertArrayEquals(new byte[] {1, 1, 2, 3, 4}, m.readBytes(0, 5));
    m.copy(0, 1, 4);
    assertArrayEquals(new byte[] {1, 2, 3, 4, 4}, m.readBytes(0, 5));
  }

  @Test
  void fill_zero_andRelease() {
    OffHeapMemory m = new OffHeapMemory(new MemoryLimits(2, 2));
    m.zero(); // the instance's first zeroing: the pages are fresh
    m.fill((byte) 7, 10, 2 * PAGE - 10);
    assertEquals(0, m.read(9));
    assertEquals(7, m.read(10));
    assertEquals(7, m.read(2 * PAGE - 11));
    assertEquals(0, m.read(2 * PAGE - 10));
    m.zero();
    assertEquals(0, m.read(10));
    m.writeI32(100, 42);
    m.release();
    assertEquals(0, m.readInt(100), "released pages read zero");
  }

  @Test
  void memoryLargerThanTheHeap_costsOnlyTheTouchedPages() {
    // The whole 2 GiB a memory may reach is reserved, not allocated.
    OffHeapMemory m = new OffHeapMemory(new MemoryLimits(1, Memory.RUNTIME_MAX_PAGES));
    assertEquals(1, m.grow(Memory.RUNTIME_MAX_PAGES - 1));
    m.writeLong((Memory.RUNTIME_MAX_PAGES - 1) * PAGE, 5);
    assertEquals(5, m.readLong((Memory.RUNTIME_MAX_PAGES - 1) * PAGE));
    m.release();
  }
}
