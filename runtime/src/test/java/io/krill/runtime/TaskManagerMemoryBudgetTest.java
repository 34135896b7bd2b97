package io.krill.runtime;

import static io.krill.engine.wasm.WasmBytes.CODE;
import static io.krill.engine.wasm.WasmBytes.EXPORT;
import static io.krill.engine.wasm.WasmBytes.FUNCTION;
import static io.krill.engine.wasm.WasmBytes.MEMORY;
import static io.krill.engine.wasm.WasmBytes.TYPE;
import static io.krill.engine.wasm.WasmBytes.bytes;
import static io.krill.engine.wasm.WasmBytes.exportEntry;
import static io.krill.engine.wasm.WasmBytes.limits;
import static io.krill.engine.wasm.WasmBytes.module;
import static io.krill.engine.wasm.WasmBytes.section;
import static io.krill.engine.wasm.WasmBytes.vec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.engine.wasm.WasmBytes;
import io.krill.oci.RuntimeSpec;
import io.krill.runtime.TaskFixture.Bundle;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Admission control: the caps of all live guests stay within the daemon's memory budget. */
@Timeout(120)
class TaskManagerMemoryBudgetTest {
  private static final long MIB = 1L << 20;

  /** {@code (module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))} */
  private static final byte[] SPIN =
      module(
          section(TYPE, vec(bytes(0x60, 0, 0))),
          section(FUNCTION, vec(bytes(0))),
          section(MEMORY, vec(limits(1, -1))),
          section(EXPORT, vec(exportEntry("_start", 0, 0), exportEntry("memory", 2, 0))),
          section(CODE, vec(bytes(7, 0x00, 0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b))));

  @TempDir Path tmp;
  TaskFixture f;

  @AfterEach
  void tearDown() throws Exception {
    if (f != null) {
      f.close();
    }
  }

  private TaskFixture fixture(long defaultLimit, long budget) {
    f = new TaskFixture(tmp, defaultLimit, MemoryBudget.of(budget));
    return f;
  }

  private static String limit(long bytes) {
    return ",\"linux\":{\"resources\":{\"memory\":{\"limit\":" + bytes + "}}}";
  }

  private Bundle spin(String id, long limitBytes) {
    return f.bundle(id, "/spin.wasm", "spin.wasm", SPIN, limitBytes > 0 ? limit(limitBytes) : "");
  }

  @Test
  void create_capBeyondWhatIsLeft_resourceExhaustedNamingContainerCapAndBudget() {
    fixture(0, 10 * MIB);
    f.tasks.create(spin("a", 4 * MIB).spec());
    f.tasks.create(spin("b", 4 * MIB).spec());
    Bundle c = spin("c", 4 * MIB);

    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(c.spec()));

    assertEquals(ErrorCode.RESOURCE_EXHAUSTED, e.code());
    String m = e.getMessage();
    assertTrue(m.startsWith("container c: refused: it has a memory limit of 4 MiB"), m);
    assertTrue(m.contains("memory budget for guests is 10 MiB, of which 8 MiB is held by 2"), m);
    assertTrue(m.contains("wait for other containers to end"), m);
    assertTrue(m.contains("memory_budget") && m.contains("KRILL_MEMORY_BUDGET"), m);
    assertEquals(List.of(), f.events.of("c"), "a refused container has no events");
    assertFalse(f.tasks.ids().contains("c"));
    assertEquals(8 * MIB, f.tasks.memoryBudget().reservedBytes());
  }

  @Test
  void create_capAboveTheWholeBudget_saysLowerTheLimitOrRaiseTheBudget() {
    fixture(0, 10 * MIB);
    Bundle big = spin("big", 16 * MIB);

    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(big.spec()));

    assertEquals(ErrorCode.RESOURCE_EXHAUSTED, e.code());
    assertTrue(e.getMessage().contains("limit of 16 MiB"), e.getMessage());
    assertTrue(e.getMessage().contains("give it a lower memory limit"), e.getMessage());
    assertFalse(e.getMessage().contains("wait for"), "waiting cannot help: " + e.getMessage());
  }

  @Test
  void delete_ofNeverStartedTask_releasesItsCap() {
    fixture(0, 10 * MIB);
    f.tasks.create(spin("a", 8 * MIB).spec());
    Bundle b = spin("b", 8 * MIB);
    assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));

    f.tasks.delete("a");

    f.tasks.create(b.spec());
    assertEquals(8 * MIB, f.tasks.memoryBudget().reservedBytes());
  }

  @Test
  void exit_releasesTheCapBeforeDelete() throws Exception {
    fixture(0, 10 * MIB);
    f.tasks.create(spin("a", 8 * MIB).spec());
    f.tasks.start("a");
    Bundle b = spin("b", 8 * MIB);
    assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));

    f.tasks.kill("a", 9);
    assertEquals(137, f.await("a").code());

    TaskFixture.eventually("a's guest is freed", () -> f.tasks.memoryBudget().reservedBytes() == 0);
    f.tasks.create(b.spec());
    assertEquals(1, f.tasks.memoryBudget().guests());
  }

  @Test
  void exec_reservesTheContainersCapAndReleasesItWhenItEnds() throws Exception {
    fixture(0, 10 * MIB);
    f.tasks.create(spin("c", 4 * MIB).spec());
    f.tasks.start("c");
    f.tasks.exec(execOf("c", "e1"));
    assertEquals(8 * MIB, f.tasks.memoryBudget().reservedBytes());

    KrillException e = assertThrows(KrillException.class, () -> f.tasks.exec(execOf("c", "e2")));
    assertEquals(ErrorCode.RESOURCE_EXHAUSTED, e.code());
    assertTrue(
        e.getMessage().startsWith("container c: refused: exec e2 has a memory limit of 4 MiB"),
        e.getMessage());
    assertTrue(e.getMessage().contains("held by 2 running guests"), e.getMessage());

    f.tasks.start("c", "e1");
    f.tasks.kill("c", "e1", 9, false);
    assertEquals(137, f.tasks.waitFor("c", "e1").get().code());
    TaskFixture.eventually(
        "e1's guest is freed", () -> f.tasks.memoryBudget().reservedBytes() == 4 * MIB);
    f.tasks.exec(execOf("c", "e2"));
    assertEquals(8 * MIB, f.tasks.memoryBudget().reservedBytes());
  }

  private static ExecSpec execOf(String id, String execId) {
    return new ExecSpec(
        id, execId, new RuntimeSpec.Process(List.of("/spin.wasm"), List.of(), null, false), null);
  }

  @Test
  void defaultCap_appliesToAContainerWithoutLimitAndIsWhatItReserves() throws Exception {
    fixture(2 * MIB, 10 * MIB);
    Bundle b = f.bundle("grow", "/grow.wasm", "grow.wasm", WasmBytes.growBy100PagesModule(), "");
    f.tasks.create(b.spec());
    assertEquals(2 * MIB, f.tasks.memoryBudget().reservedBytes());
    assertEquals(2 * MIB, f.tasks.stats("grow").memoryLimitBytes());

    f.tasks.start("grow");

    assertEquals(0, f.await("grow").code(), "exit 1 means the grow beyond 2 MiB succeeded");
  }

  @Test
  void noCapAtAll_reservesTheWasm32MaximumAndIsRefusedBelowIt() {
    fixture(0, 1L << 30);
    Bundle b = spin("open", 0);

    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));

    assertEquals(ErrorCode.RESOURCE_EXHAUSTED, e.code());
    assertTrue(
        e.getMessage().contains("has no memory limit (and default_memory_limit is 0)"),
        e.getMessage());
    assertTrue(e.getMessage().contains("may grow to 4 GiB"), e.getMessage());
  }

  @Test
  void create_failingAfterAdmission_givesTheCapBack() {
    fixture(0, 10 * MIB);
    // 32 pages minimum cannot fit a 1 MiB cap: refused after the cap was reserved.
    Bundle b =
        f.bundle("small", "/m.wasm", "m.wasm", WasmBytes.memoryModule(32, -1), limit(1 * MIB));

    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));

    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertEquals(0, f.tasks.memoryBudget().reservedBytes());
    assertEquals(0, f.tasks.memoryBudget().guests());
  }
}
