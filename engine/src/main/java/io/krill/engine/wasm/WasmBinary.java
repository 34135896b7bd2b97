package io.krill.engine.wasm;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A reader (and minimal rewriter) of the section structure of a core wasm module. It reads only
 * what the runtime needs before compiling: the exported functions (to check the entry point), the
 * imports, and the memory limits (to cap them). Function bodies are never decoded.
 */
public final class WasmBinary {
  public static final long PAGE = 65536;
  private static final int SECTION_IMPORT = 2;
  private static final int SECTION_MEMORY = 5;
  private static final int SECTION_EXPORT = 7;

  private final byte[] bytes;
  private final List<String> functionExports = new ArrayList<>();
  private final List<Import> imports = new ArrayList<>();
  private Limits memory;
  private int memorySectionStart = -1;
  private int memorySectionEnd = -1;

  /** A memory's limits in 64 KiB pages; {@code max < 0} means unbounded. */
  public record Limits(long min, long max, boolean shared) {}

  public record Import(String module, String name, int kind) {}

  private WasmBinary(byte[] bytes) {
    this.bytes = bytes;
  }

  public static boolean looksLikeWasm(byte[] b) {
    return b.length >= 4 && b[0] == 0 && b[1] == 'a' && b[2] == 's' && b[3] == 'm';
  }

  public static WasmBinary parse(byte[] bytes) throws WasmFormatException {
    if (!looksLikeWasm(bytes)) {
      throw new WasmFormatException("not a WebAssembly module (it does not start with \\0asm)");
    }
    if (bytes.length < 8) {
      throw new WasmFormatException("truncated WebAssembly header");
    }
    int version =
        (bytes[4] & 0xff)
            | (bytes[5] & 0xff) << 8
            | (bytes[6] & 0xff) << 16
            | (bytes[7] & 0xff) << 24;
    if (version != 1) {
      if ((version & 0xffff) == 0x0d || (version >>> 16) == 1) {
        throw new WasmFormatException(
            "this is a WebAssembly component; components are not supported, only core modules"
                + " (build for wasm32-wasip1, or wasm32-wasi)");
      }
      throw new WasmFormatException("unsupported WebAssembly binary version " + version);
    }
    WasmBinary w = new WasmBinary(bytes);
    w.readSections();
    return w;
  }

  public List<String> functionExports() {
    return List.copyOf(functionExports);
  }

  public List<Import> imports() {
    return List.copyOf(imports);
  }

  /** The module's own (not imported) first memory, if it defines one. */
  public Optional<Limits> memory() {
    return Optional.ofNullable(memory);
  }

  /**
   * Returns the module with its memory's maximum lowered to {@code maxPages} (a grow beyond it
   * fails inside the guest, as on a machine that ran out of memory). Returns the same bytes when
   * the module defines no memory or already has a smaller maximum.
   *
   * @throws WasmFormatException when the module's minimum memory alone exceeds the cap
   */
  public byte[] withMemoryMaximum(long maxPages) throws WasmFormatException {
    if (memory == null || (memory.max() >= 0 && memory.max() <= maxPages)) {
      return bytes;
    }
    if (memory.min() > maxPages) {
      throw new WasmFormatException(
          "the module needs at least "
              + memory.min() * PAGE / (1024 * 1024)
              + " MiB of linear memory, more than the memory limit of "
              + maxPages * PAGE / (1024 * 1024)
              + " MiB");
    }
    Reader r = new Reader(bytes, memorySectionStart, memorySectionEnd);
    long count = r.u32();
    ByteArrayOutputStream payload = new ByteArrayOutputStream();
    writeLeb(payload, count);
    for (long i = 0; i < count; i++) {
      int flags = r.u8();
      long min = r.u32();
      long max = (flags & 1) != 0 ? r.u32() : -1;
      if (i == 0) {
        flags |= 1;
        max = max < 0 ? maxPages : Math.min(max, maxPages);
      }
      payload.write(flags);
      writeLeb(payload, min);
      if ((flags & 1) != 0) {
        writeLeb(payload, max);
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream(bytes.length + 8);
    int headerStart = sectionHeaderStart(memorySectionStart);
    out.write(bytes, 0, headerStart);
    out.write(SECTION_MEMORY);
    writeLeb(out, payload.size());
    out.write(payload.toByteArray(), 0, payload.size());
    out.write(bytes, memorySectionEnd, bytes.length - memorySectionEnd);
    return out.toByteArray();
  }

  private int sectionHeaderStart(int payloadStart) {
    // The header is one id byte plus the LEB128 size that ends right before the payload.
    int p = payloadStart - 1;
    while (p > 0 && (bytes[p - 1] & 0x80) != 0) {
      p--;
    }
    return p - 1;
  }

  private void readSections() throws WasmFormatException {
    Reader r = new Reader(bytes, 8, bytes.length);
    while (!r.atEnd()) {
      int id = r.u8();
      long size = r.u32();
      int start = r.pos();
      if (size > r.remaining()) {
        throw new WasmFormatException(
            "section " + id + " runs past the end of the module (truncated file?)");
      }
      int end = start + (int) size;
      Reader s = new Reader(bytes, start, end);
      switch (id) {
        case SECTION_IMPORT -> readImports(s);
        case SECTION_MEMORY -> {
          memorySectionStart = start;
          memorySectionEnd = end;
          long n = s.u32();
          if (n > 0 && memory == null) {
            memory = s.limits();
          }
        }
        case SECTION_EXPORT -> readExports(s);
        default -> {}
      }
      r.seek(end);
    }
  }

  private void readImports(Reader s) throws WasmFormatException {
    long n = s.u32();
    for (long i = 0; i < n; i++) {
      String module = s.name();
      String name = s.name();
      int kind = s.u8();
      switch (kind) {
        case 0 -> s.u32();
        case 1 -> {
          s.u8();
          s.limits();
        }
        case 2 -> s.limits();
        case 3 -> {
          s.u8();
          s.u8();
        }
        default -> throw new WasmFormatException("unknown import kind " + kind);
      }
      imports.add(new Import(module, name, kind));
    }
  }

  private void readExports(Reader s) throws WasmFormatException {
    long n = s.u32();
    for (long i = 0; i < n; i++) {
      String name = s.name();
      int kind = s.u8();
      s.u32();
      if (kind == 0) {
        functionExports.add(name);
      }
    }
  }

  private static void writeLeb(ByteArrayOutputStream out, long v) {
    do {
      int b = (int) (v & 0x7f);
      v >>>= 7;
      out.write(v != 0 ? b | 0x80 : b);
    } while (v != 0);
  }

  /** Bounds-checked cursor over a byte range; every read past the end is a format error. */
  private static final class Reader {
    private final byte[] b;
    private final int end;
    private int pos;

    Reader(byte[] b, int start, int end) {
      this.b = b;
      this.pos = start;
      this.end = end;
    }

    boolean atEnd() {
      return pos >= end;
    }

    int pos() {
      return pos;
    }

    int remaining() {
      return end - pos;
    }

    void seek(int p) {
      pos = p;
    }

    int u8() throws WasmFormatException {
      if (pos >= end) {
        throw new WasmFormatException("unexpected end of module at byte " + pos);
      }
      return b[pos++] & 0xff;
    }

    long u32() throws WasmFormatException {
      long result = 0;
      for (int shift = 0; shift < 35; shift += 7) {
        int x = u8();
        result |= (long) (x & 0x7f) << shift;
        if ((x & 0x80) == 0) {
          return result;
        }
      }
      throw new WasmFormatException("malformed LEB128 integer at byte " + pos);
    }

    String name() throws WasmFormatException {
      long len = u32();
      if (len > remaining()) {
        throw new WasmFormatException("name runs past the end of its section at byte " + pos);
      }
      String s = new String(b, pos, (int) len, StandardCharsets.UTF_8);
      pos += (int) len;
      return s;
    }

    Limits limits() throws WasmFormatException {
      int flags = u8();
      if ((flags & 4) != 0) {
        throw new WasmFormatException("64-bit memories are not supported");
      }
      long min = u32();
      long max = (flags & 1) != 0 ? u32() : -1;
      return new Limits(min, max, (flags & 2) != 0);
    }
  }
}
