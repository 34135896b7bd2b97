package io.krill.it.harness;

import static io.krill.engine.wasm.WasmBytes.CODE;
import static io.krill.engine.wasm.WasmBytes.EXPORT;
import static io.krill.engine.wasm.WasmBytes.FUNCTION;
import static io.krill.engine.wasm.WasmBytes.MEMORY;
import static io.krill.engine.wasm.WasmBytes.TYPE;
import static io.krill.engine.wasm.WasmBytes.bytes;
import static io.krill.engine.wasm.WasmBytes.concat;
import static io.krill.engine.wasm.WasmBytes.exportEntry;
import static io.krill.engine.wasm.WasmBytes.leb;
import static io.krill.engine.wasm.WasmBytes.limits;
import static io.krill.engine.wasm.WasmBytes.module;
import static io.krill.engine.wasm.WasmBytes.section;
import static io.krill.engine.wasm.WasmBytes.sleb;
import static io.krill.engine.wasm.WasmBytes.vec;

import java.io.ByteArrayOutputStream;

/**
 * A valid wasm module of many distinct functions (what a real program of several MiB holds), whose
 * {@code _start} returns at once: for what an engine's compile of a big module costs the daemon.
 */
public final class BigModule {
  private BigModule() {}

  /**
   * {@code functions} functions of {@code (param i32) (result i32)}, each {@code steps} rounds of
   * multiply, add and xor on its parameter with constants of its own, and an empty {@code _start}.
   */
  public static byte[] wasm(int functions, int steps) {
    byte[][] types = new byte[functions + 1][];
    byte[][] bodies = new byte[functions + 1][];
    for (int f = 0; f < functions; f++) {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      body.write(0); // no locals beyond the parameter
      for (int s = 0; s < steps; s++) {
        body.writeBytes(bytes(0x20, 0, 0x41)); // local.get 0, i32.const
        body.writeBytes(sleb(f * 31 + s * 7 + 3));
        body.writeBytes(bytes(0x6c, 0x41)); // i32.mul, i32.const
        body.writeBytes(sleb(s * 1009 + f));
        body.writeBytes(bytes(0x6a, 0x41)); // i32.add, i32.const
        body.writeBytes(sleb(f ^ (s << 3)));
        body.writeBytes(bytes(0x73, 0x21, 0)); // i32.xor, local.set 0
      }
      body.writeBytes(bytes(0x20, 0, 0x0b)); // local.get 0, end
      types[f] = bytes(0);
      bodies[f] = concat(leb(body.size()), body.toByteArray());
    }
    types[functions] = bytes(1);
    bodies[functions] = bytes(2, 0, 0x0b); // _start: no locals, end
    return module(
        section(TYPE, vec(bytes(0x60, 1, 0x7f, 1, 0x7f), bytes(0x60, 0, 0))),
        section(FUNCTION, vec(types)),
        section(MEMORY, vec(limits(1, -1))),
        section(EXPORT, vec(exportEntry("_start", 0, functions), exportEntry("memory", 2, 0))),
        section(CODE, vec(bodies)));
  }
}
