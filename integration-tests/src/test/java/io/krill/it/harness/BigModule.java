package io.krill.it.harness;

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
    ByteArrayOutputStream code = new ByteArrayOutputStream();
    uleb(code, functions + 1);
    for (int f = 0; f < functions; f++) {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      body.write(0); // no locals beyond the parameter
      for (int s = 0; s < steps; s++) {
        body.write(0x20); // local.get 0
        body.write(0);
        body.write(0x41); // i32.const
        sleb(body, f * 31 + s * 7 + 3);
        body.write(0x6c); // i32.mul
        body.write(0x41);
        sleb(body, s * 1009 + f);
        body.write(0x6a); // i32.add
        body.write(0x41);
        sleb(body, f ^ (s << 3));
        body.write(0x73); // i32.xor
        body.write(0x21); // local.set 0
        body.write(0);
      }
      body.write(0x20);
      body.write(0);
      body.write(0x0b); // end
      uleb(code, body.size());
      code.writeBytes(body.toByteArray());
    }
    code.writeBytes(new byte[] {2, 0, 0x0b}); // _start: no locals, end

    ByteArrayOutputStream m = new ByteArrayOutputStream();
    m.writeBytes(new byte[] {0, 'a', 's', 'm', 1, 0, 0, 0});
    // types: 0 = (i32) -> i32, 1 = () -> ()
    section(m, 1, new byte[] {2, 0x60, 1, 0x7f, 1, 0x7f, 0x60, 0, 0});
    ByteArrayOutputStream funcs = new ByteArrayOutputStream();
    uleb(funcs, functions + 1);
    for (int f = 0; f < functions; f++) {
      funcs.write(0);
    }
    funcs.write(1);
    section(m, 3, funcs.toByteArray());
    section(m, 5, new byte[] {1, 0, 1}); // one memory of one page
    ByteArrayOutputStream exports = new ByteArrayOutputStream();
    exports.write(2);
    name(exports, "_start");
    exports.write(0);
    uleb(exports, functions);
    name(exports, "memory");
    exports.write(2);
    exports.write(0);
    section(m, 7, exports.toByteArray());
    section(m, 10, code.toByteArray());
    return m.toByteArray();
  }

  private static void section(ByteArrayOutputStream m, int id, byte[] content) {
    m.write(id);
    uleb(m, content.length);
    m.writeBytes(content);
  }

  private static void name(ByteArrayOutputStream out, String s) {
    uleb(out, s.length());
    out.writeBytes(s.getBytes(java.nio.charset.StandardCharsets.US_ASCII));
  }

  private static void uleb(ByteArrayOutputStream out, long v) {
    do {
      int b = (int) (v & 0x7f);
      v >>>= 7;
      out.write(v != 0 ? b | 0x80 : b);
    } while (v != 0);
  }

  private static void sleb(ByteArrayOutputStream out, long v) {
    while (true) {
      int b = (int) (v & 0x7f);
      v >>= 7;
      boolean done = (v == 0 && (b & 0x40) == 0) || (v == -1 && (b & 0x40) != 0);
      out.write(done ? b : b | 0x80);
      if (done) {
        return;
      }
    }
  }
}
