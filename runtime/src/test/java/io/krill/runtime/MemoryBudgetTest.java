package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class MemoryBudgetTest {
  @Test
  void reserve_upToTheBudget_fitsExactlyAndRefusesOneByteMore() {
    MemoryBudget b = MemoryBudget.of(100);
    b.reserve("a", "it", 60);
    b.reserve("b", "it", 40);
    KrillException e = assertThrows(KrillException.class, () -> b.reserve("c", "it", 1));
    assertEquals(ErrorCode.RESOURCE_EXHAUSTED, e.code());
    assertEquals(100, b.reservedBytes());
    assertEquals(2, b.guests());
  }

  @Test
  void close_twice_givesTheReservationBackOnce() {
    MemoryBudget b = MemoryBudget.of(100);
    MemoryBudget.Reservation r = b.reserve("a", "it", 60);
    b.reserve("b", "it", 40);
    r.close();
    r.close();
    assertEquals(40, b.reservedBytes());
    assertEquals(1, b.guests());
  }

  @Test
  void reservationFor_noCap_isTheWasm32Maximum() {
    assertEquals(4L << 30, MemoryBudget.reservationFor(0));
    assertEquals(4L << 30, MemoryBudget.reservationFor(8L << 30));
    assertEquals(1 << 20, MemoryBudget.reservationFor(1 << 20));
  }

  @Test
  void unlimited_admitsUncappedGuests() {
    MemoryBudget b = MemoryBudget.unlimited();
    for (int i = 0; i < 1000; i++) {
      b.reserve("c" + i, "it", 0);
    }
    assertEquals(1000, b.guests());
  }

  @Test
  void bytes_readableSizes() {
    assertEquals("4 GiB", MemoryBudget.bytes(4L << 30));
    assertEquals("96 MiB", MemoryBudget.bytes(96L << 20));
    assertEquals("1000 bytes (0 MiB)", MemoryBudget.bytes(1000));
  }
}
