package io.krill.engine.chicory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import com.dylibso.chicory.runtime.Memory;
import com.dylibso.chicory.wasm.types.MemoryLimits;
import org.junit.jupiter.api.Test;

class MemoryPoolTest {
  private static final int PAGE = Memory.PAGE_SIZE;
  private static final MemoryLimits LIMITS = new MemoryLimits(2, 64);

  @Test
  void memoryGivenBack_isTheNextOnesAtItsInitialSize_everyByteZero() {
    MemoryPool pool = new MemoryPool(64L << 20);
    OffHeapMemory m = pool.take(LIMITS);
    m.grow(20);
    m.writeLong(100, -1L);
    m.writeLong(22 * PAGE - 8, -1L);
    pool.giveBack(m);
    assertEquals(1, pool.idle());
    assertEquals(MemoryPool.KEEP_RESIDENT, pool.retained(), "what was zeroed in place");

    OffHeapMemory again = pool.take(LIMITS);
    assertSame(m, again);
    assertEquals(2, again.pages());
    assertEquals(0L, again.readLong(100));
    assertEquals(0, pool.retained());
    again.grow(20);
    assertEquals(0L, again.readLong(22 * PAGE - 8), "beyond what was kept: handed back, zero");
  }

  @Test
  void fresh_afterReuse_soTheInstanceSkipsItsOwnZeroing() {
    MemoryPool pool = new MemoryPool(64L << 20);
    OffHeapMemory m = pool.take(LIMITS);
    m.zero();
    m.writeI32(8, 7);
    pool.giveBack(m);
    OffHeapMemory again = pool.take(LIMITS);
    again.writeI32(16, 9);
    again.zero();
    assertEquals(9, again.readInt(16), "zero() of a fresh memory writes nothing");
    assertEquals(0, again.readInt(8));
  }

  @Test
  void beyondTheRetainBound_memoriesAreHandedBack() {
    MemoryPool pool = new MemoryPool(3 * 2L * PAGE);
    OffHeapMemory[] ms = new OffHeapMemory[5];
    for (int i = 0; i < ms.length; i++) {
      ms[i] = pool.take(LIMITS);
      ms[i].writeI32(0, i + 1);
    }
    for (OffHeapMemory m : ms) {
      pool.giveBack(m);
    }
    assertEquals(3, pool.idle());
    assertEquals(3 * 2L * PAGE, pool.retained());
  }

  @Test
  void otherLimits_getAMemoryOfTheirOwn() {
    MemoryPool pool = new MemoryPool(64L << 20);
    OffHeapMemory m = pool.take(LIMITS);
    pool.giveBack(m);
    OffHeapMemory other = pool.take(new MemoryLimits(1, 64));
    assertNotSame(m, other);
    assertEquals(1, other.pages());
    assertEquals(0, pool.idle());
    assertEquals(0, pool.retained());
  }

  @Test
  void close_handsBackTheIdle_andWhatComesBackLater() {
    MemoryPool pool = new MemoryPool(64L << 20);
    OffHeapMemory a = pool.take(LIMITS);
    OffHeapMemory b = pool.take(LIMITS);
    pool.giveBack(a);
    pool.close();
    assertEquals(0, pool.idle());
    assertEquals(0, pool.retained());
    b.writeI32(0, 5);
    pool.giveBack(b);
    assertEquals(0, pool.idle());
    assertEquals(0, b.readInt(0), "handed back: reads zero");
  }
}
