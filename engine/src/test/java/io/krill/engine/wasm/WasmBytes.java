package io.krill.engine.wasm;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Hand-assembles tiny binary wasm modules, so tests that need the binary format (rather than the
 * WAT text Wasmtime also accepts) depend on no external tool.
 */
public final class WasmBytes {
  public static final int TYPE = 1;
  public static final int IMPORT = 2;
  public static final int FUNCTION = 3;
  public static final int MEMORY = 5;
  public static final int EXPORT = 7;
  public static final int CODE = 10;

  private WasmBytes() {}

  public static byte[] module(byte[]... sections) {
    return concat(bytes(0, 'a', 's', 'm', 1, 0, 0, 0), concat(sections));
  }

  public static byte[] section(int id, byte[]... parts) {
    byte[] payload = concat(parts);
    return concat(bytes(id), leb(payload.length), payload);
  }

  public static byte[] vec(byte[]... items) {
    return concat(leb(items.length), concat(items));
  }

  public static byte[] name(String s) {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    return concat(leb(b.length), b);
  }

  /** Signed LEB128, as {@code i32.const} and {@code i64.const} take their operand. */
  public static byte[] sleb(long v) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    while (true) {
      int b = (int) (v & 0x7f);
      v >>= 7;
      boolean done = (v == 0 && (b & 0x40) == 0) || (v == -1 && (b & 0x40) != 0);
      out.write(done ? b : b | 0x80);
      if (done) {
        return out.toByteArray();
      }
    }
  }

  public static byte[] leb(long v) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    do {
      int b = (int) (v & 0x7f);
      v >>>= 7;
      out.write(v != 0 ? b | 0x80 : b);
    } while (v != 0);
    return out.toByteArray();
  }

  public static byte[] bytes(int... values) {
    byte[] b = new byte[values.length];
    for (int i = 0; i < values.length; i++) {
      b[i] = (byte) values[i];
    }
    return b;
  }

  public static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** Memory limits as in the memory section; {@code max < 0} = no maximum. */
  public static byte[] limits(long min, long max) {
    return max < 0 ? concat(bytes(0), leb(min)) : concat(bytes(1), leb(min), leb(max));
  }

  public static byte[] exportEntry(String name, int kind, int index) {
    return concat(name(name), bytes(kind), leb(index));
  }

  /** {@code (module (memory (export "memory") min max?) (func (export "_start")))} */
  /**
   * Exports {@code _start} and a memory (min 1, no max) whose section size is a padded 5-byte
   * LEB128, as linkers emit it.
   */
  public static byte[] paddedMemorySectionModule() {
    byte[] memoryPayload = vec(limits(1, -1));
    byte[] paddedMemorySection =
        concat(bytes(MEMORY, 0x80 | memoryPayload.length, 0x80, 0x80, 0x80, 0x00), memoryPayload);
    return module(
        section(TYPE, vec(bytes(0x60, 0, 0))),
        section(FUNCTION, vec(bytes(0))),
        paddedMemorySection,
        section(EXPORT, vec(exportEntry("_start", 0, 0), exportEntry("memory", 2, 0))),
        section(CODE, vec(bytes(2, 0, 0x0b))));
  }

  public static byte[] memoryModule(long min, long max) {
    return module(
        section(TYPE, vec(bytes(0x60, 0, 0))),
        section(FUNCTION, vec(bytes(0))),
        section(MEMORY, vec(limits(min, max))),
        section(EXPORT, vec(exportEntry("_start", 0, 0), exportEntry("memory", 2, 0))),
        section(CODE, vec(bytes(2, 0, 0x0b))));
  }

  /** {@code (module (func (export <name>)))} */
  public static byte[] emptyFunctionModule(String exportName) {
    return module(
        section(TYPE, vec(bytes(0x60, 0, 0))),
        section(FUNCTION, vec(bytes(0))),
        section(EXPORT, vec(exportEntry(exportName, 0, 0))),
        section(CODE, vec(bytes(2, 0, 0x0b))));
  }

  /**
   * A WASI command with {@code (memory 1)} that grows its memory by 100 pages and calls {@code
   * proc_exit(grow == -1 ? 0 : 1)}: exit 0 means the grow was refused.
   */
  public static byte[] growBy100PagesModule() {
    byte[] body =
        bytes(
            0x00, // no locals
            0x41, 0xe4, 0x00, // i32.const 100
            0x40, 0x00, // memory.grow
            0x41, 0x7f, // i32.const -1
            0x47, // i32.ne
            0x10, 0x00, // call $proc_exit
            0x0b);
    return module(
        section(TYPE, vec(bytes(0x60, 1, 0x7f, 0), bytes(0x60, 0, 0))),
        section(
            IMPORT, vec(concat(name("wasi_snapshot_preview1"), name("proc_exit"), bytes(0, 0)))),
        section(FUNCTION, vec(bytes(1))),
        section(MEMORY, vec(limits(1, -1))),
        section(EXPORT, vec(exportEntry("_start", 0, 1), exportEntry("memory", 2, 0))),
        section(CODE, vec(concat(leb(body.length), body))));
  }
}
