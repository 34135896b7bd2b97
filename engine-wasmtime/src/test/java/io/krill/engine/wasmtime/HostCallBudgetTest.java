package io.krill.engine.wasmtime;

import static io.krill.engine.wasm.WasmBytes.CODE;
import static io.krill.engine.wasm.WasmBytes.EXPORT;
import static io.krill.engine.wasm.WasmBytes.FUNCTION;
import static io.krill.engine.wasm.WasmBytes.IMPORT;
import static io.krill.engine.wasm.WasmBytes.MEMORY;
import static io.krill.engine.wasm.WasmBytes.TYPE;
import static io.krill.engine.wasm.WasmBytes.bytes;
import static io.krill.engine.wasm.WasmBytes.concat;
import static io.krill.engine.wasm.WasmBytes.exportEntry;
import static io.krill.engine.wasm.WasmBytes.leb;
import static io.krill.engine.wasm.WasmBytes.limits;
import static io.krill.engine.wasm.WasmBytes.module;
import static io.krill.engine.wasm.WasmBytes.name;
import static io.krill.engine.wasm.WasmBytes.section;
import static io.krill.engine.wasm.WasmBytes.vec;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.engine.GuestResult;
import io.krill.engine.GuestSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A Wasmtime guest's WASI calls count against the daemon's {@link HostCallBudget}: the guest that
 * would take it past its end is stopped with a message, and a guest's calls are given back when its
 * run ends.
 */
class HostCallBudgetTest {
  private static final int WASI_DATA = 11;

  @TempDir Path tmp;

  /** Writes "x" to stdout {@code n} times ({@code n < 0}: for ever), then returns. */
  private static byte[] writer(int n) {
    // local 0 counts down; fd_write(1, iovs = 0, 1, nwritten = 8); the iovec at 0 points at 16
    byte[] call = bytes(0x41, 1, 0x41, 0, 0x41, 1, 0x41, 8, 0x10, 0, 0x1a);
    byte[] body =
        concat(
            bytes(0x01, 0x01, 0x7f), // one i32 local
            bytes(0x41),
            leb(n & 0x7f_ffff_ffL),
            bytes(0x21, 0), // local.set 0
            bytes(0x03, 0x40), // loop
            call,
            n < 0
                ? bytes(0x0c, 0)
                : bytes(0x20, 0, 0x41, 1, 0x6b, 0x22, 0, 0x0d, 0), // local.tee 0 (n-1); br_if
            bytes(0x0b, 0x0b));
    return module(
        section(TYPE, vec(bytes(0x60, 4, 0x7f, 0x7f, 0x7f, 0x7f, 1, 0x7f), bytes(0x60, 0, 0))),
        section(IMPORT, vec(concat(name("wasi_snapshot_preview1"), name("fd_write"), bytes(0, 0)))),
        section(FUNCTION, vec(bytes(1))),
        section(MEMORY, vec(limits(1, -1))),
        section(EXPORT, vec(exportEntry("_start", 0, 1), exportEntry("memory", 2, 0))),
        section(CODE, vec(concat(leb(body.length), body))),
        section(
            WASI_DATA,
            vec(
                concat(bytes(0, 0x41, 0, 0x0b), leb(8), bytes(16, 0, 0, 0, 1, 0, 0, 0)),
                concat(bytes(0, 0x41, 16, 0x0b), leb(1), bytes('x')))));
  }

  private GuestSpec spec(String id, byte[] module, Path stdout) {
    return new GuestSpec(
        id,
        "/app.wasm",
        module,
        "_start",
        List.of("/app.wasm"),
        List.of(),
        List.of(),
        null,
        stdout,
        null,
        0);
  }

  private GuestResult run(HostCallBudget budget, GuestSpec spec) {
    WasmtimeEngine engine = new WasmtimeEngine(Optional.empty());
    try (WasmtimeGuest g = (WasmtimeGuest) engine.prepare(spec)) {
      g.budget(budget);
      return g.run();
    }
  }

  @Test
  void aGuestWithinTheBudget_runsAndGivesItsCallsBack() throws Exception {
    HostCallBudget budget = new HostCallBudget(4096);
    Path out = tmp.resolve("out");
    for (int i = 0; i < 3; i++) {
      assertEquals(new GuestResult.Exited(0), run(budget, spec("c" + i, writer(3000), out)));
    }
    assertEquals(9000, Files.size(out), "every run wrote all of its bytes");
    assertEquals(0, budget.taken());
  }

  @Test
  void manySleepingGuests_takeLittleEach() {
    HostCallBudget budget = new HostCallBudget(64 * 1000);
    for (int i = 0; i < 1000; i++) {
      assertTrue(budget.take(HostCallBudget.nextStep(0)), "guest " + i);
    }
    assertFalse(budget.take(1), "the budget is spent");
  }

  @Test
  void aGuestPastTheBudget_isStoppedAloneWithAMessage() throws Exception {
    HostCallBudget budget = new HostCallBudget(8192);
    Path out = tmp.resolve("out");
    GuestResult r = run(budget, spec("chatty", writer(-1), out));
    GuestResult.Trapped t = assertInstanceOf(GuestResult.Trapped.class, r);
    assertTrue(t.message().startsWith("container chatty: stopped after "), t.message());
    assertTrue(t.message().contains("krill.io/engine=chicory"), t.message());
    // steps of 64, 64, 128, ..., 1024, 1024: it stops within one step of the end
    long size = Files.size(out);
    assertTrue(size > 8192 - HostCallBudget.MAX_STEP && size <= 8192, size + " calls made");
    assertEquals(0, budget.taken(), "its calls are given back");
    assertEquals(
        new GuestResult.Exited(0), run(budget, spec("next", writer(10), tmp.resolve("next"))));
  }
}
