package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.engine.wasm.WasmBytes;
import io.krill.engine.wasmtime.WasmtimeEngine;
import io.krill.runtime.TaskFixture.Bundle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Memory limits and read-only mounts, seen from inside a real guest. */
@Timeout(120)
class TaskManagerLimitsTest {
  private static final String ONE_MIB_LIMIT =
      ",\"linux\":{\"resources\":{\"memory\":{\"limit\":1048576}}}";

  @TempDir Path tmp;
  TaskFixture f;

  @BeforeEach
  void setUp() {
    f = new TaskFixture(tmp);
  }

  @AfterEach
  void tearDown() throws Exception {
    f.close();
  }

  @Test
  void memoryGrow_beyondOneMiBLimit_returnsMinusOneInGuest() throws Exception {
    Bundle b =
        f.bundle(
            "grow", "/grow.wasm", "grow.wasm", WasmBytes.growBy100PagesModule(), ONE_MIB_LIMIT);
    assertEquals(0, f.run(b).code(), "exit 1 means memory.grow succeeded");
    assertEquals(1048576, f.tasks.stats("grow").memoryLimitBytes());
  }

  @Test
  void memoryGrow_withoutLimit_succeeds() throws Exception {
    Bundle b = f.bundle("grow", "/grow.wasm", "grow.wasm", WasmBytes.growBy100PagesModule(), "");
    assertEquals(1, f.run(b).code(), "exit 0 means memory.grow was refused");
    assertEquals(0, f.tasks.stats("grow").memoryLimitBytes());
  }

  @Test
  void memoryGrow_defaultLimitOfManager_appliesWhenConfigHasNone() throws Exception {
    try (TaskFixture limited =
        new TaskFixture(tmp.resolve("limited"), new WasmtimeEngine(Optional.empty()), 1 << 20)) {
      Bundle b =
          limited.bundle("grow", "/grow.wasm", "grow.wasm", WasmBytes.growBy100PagesModule(), "");
      assertEquals(0, limited.run(b).code(), "exit 1 means memory.grow succeeded");
    }
  }

  @Test
  void memoryGrow_configLimit_overridesManagerDefault() throws Exception {
    String eightMiB = ",\"linux\":{\"resources\":{\"memory\":{\"limit\":8388608}}}";
    try (TaskFixture limited =
        new TaskFixture(tmp.resolve("limited"), new WasmtimeEngine(Optional.empty()), 1 << 20)) {
      Bundle b =
          limited.bundle(
              "grow", "/grow.wasm", "grow.wasm", WasmBytes.growBy100PagesModule(), eightMiB);
      // 101 pages = 6.3 MiB fits under 8 MiB.
      assertEquals(1, limited.run(b).code(), "exit 0 means memory.grow was refused");
    }
  }

  @Test
  void create_watModuleWithMemoryLimit_refusedBecauseTheCapCannotBeEnforced() throws Exception {
    Bundle b =
        f.bundle(
            "grow-wat",
            "/grow.wat",
            "grow.wat",
            TaskFixture.resource("wasm/grow.wat"),
            ONE_MIB_LIMIT);
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(e.getMessage().contains("wat2wasm"), e.getMessage());
  }

  @Test
  void updateMemoryLimit_changedLimit_failedPrecondition() {
    Bundle b =
        f.bundle(
            "grow", "/grow.wasm", "grow.wasm", WasmBytes.growBy100PagesModule(), ONE_MIB_LIMIT);
    f.tasks.create(b.spec());
    f.tasks.updateMemoryLimit("grow", 1048576);
    KrillException e =
        assertThrows(KrillException.class, () -> f.tasks.updateMemoryLimit("grow", 2 * 1048576));
    assertEquals(ErrorCode.FAILED_PRECONDITION, e.code());
  }

  @Test
  void bindMount_readOnly_refusesFileCreation() throws Exception {
    Path data = Files.createDirectories(tmp.resolve("data-ro"));
    Bundle b =
        f.bundle(
            "ro",
            "/create.wat",
            "create.wat",
            TaskFixture.resource("wasm/create-in-data.wat"),
            mount(data, "\"rbind\",\"ro\""));
    ExitStatus exit = f.run(b);
    assertNotEquals(0, exit.code(), "path_open with O_CREAT succeeded on a read-only mount");
    assertFalse(Files.exists(data.resolve("new.txt")));
  }

  @Test
  void bindMount_readWrite_allowsFileCreation() throws Exception {
    Path data = Files.createDirectories(tmp.resolve("data-rw"));
    Bundle b =
        f.bundle(
            "rw",
            "/create.wat",
            "create.wat",
            TaskFixture.resource("wasm/create-in-data.wat"),
            mount(data, "\"rbind\",\"rw\""));
    assertEquals(0, f.run(b).code(), "errno from path_open");
    assertTrue(Files.exists(data.resolve("new.txt")));
  }

  @Test
  void bindMount_missingSource_notPreopened() throws Exception {
    // Without a preopen at fd 4 the guest's path_open fails with EBADF (8).
    Bundle b =
        f.bundle(
            "nosrc",
            "/create.wat",
            "create.wat",
            TaskFixture.resource("wasm/create-in-data.wat"),
            mount(tmp.resolve("does-not-exist"), "\"rbind\""));
    assertEquals(8, f.run(b).code());
  }

  private static String mount(Path source, String options) {
    return ",\"mounts\":[{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\""
        + source
        + "\","
        + "\"options\":["
        + options
        + "]}]";
  }
}
