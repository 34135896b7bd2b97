package io.krill.engine.wasm;

import static io.krill.engine.wasm.WasmBytes.EXPORT;
import static io.krill.engine.wasm.WasmBytes.MEMORY;
import static io.krill.engine.wasm.WasmBytes.TYPE;
import static io.krill.engine.wasm.WasmBytes.bytes;
import static io.krill.engine.wasm.WasmBytes.concat;
import static io.krill.engine.wasm.WasmBytes.module;
import static io.krill.engine.wasm.WasmBytes.section;
import static io.krill.engine.wasm.WasmBytes.vec;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class WasmBinaryTest {

  @Test
  void parse_notWasm_throwsNotAModule() {
    WasmFormatException e =
        assertThrows(
            WasmFormatException.class,
            () -> WasmBinary.parse(bytes(0x7f, 'E', 'L', 'F', 2, 1, 1, 0)));
    assertTrue(e.getMessage().contains("not a WebAssembly module"), e.getMessage());
  }

  @Test
  void parse_shorterThanMagic_throwsNotAModule() {
    assertThrows(WasmFormatException.class, () -> WasmBinary.parse(bytes(0, 'a', 's')));
  }

  @Test
  void parse_truncatedHeader_throwsTruncated() {
    WasmFormatException e =
        assertThrows(
            WasmFormatException.class, () -> WasmBinary.parse(bytes(0, 'a', 's', 'm', 1, 0)));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
  }

  @Test
  void parse_componentVersion_throwsComponentsNotSupported() {
    WasmFormatException e =
        assertThrows(
            WasmFormatException.class,
            () -> WasmBinary.parse(bytes(0, 'a', 's', 'm', 0x0d, 0x00, 0x01, 0x00)));
    assertTrue(e.getMessage().contains("components are not supported"), e.getMessage());
  }

  @Test
  void parse_unknownVersion_throwsNamingVersion() {
    WasmFormatException e =
        assertThrows(
            WasmFormatException.class, () -> WasmBinary.parse(bytes(0, 'a', 's', 'm', 2, 0, 0, 0)));
    assertTrue(e.getMessage().contains("version 2"), e.getMessage());
  }

  @Test
  void parse_headerOnly_hasNothing() throws Exception {
    WasmBinary w = WasmBinary.parse(module());
    assertEquals(List.of(), w.functionExports());
    assertEquals(List.of(), w.imports());
    assertEquals(Optional.empty(), w.memory());
  }

  @Test
  void functionExports_mixedExportKinds_listsOnlyFunctions() throws Exception {
    WasmBinary w = WasmBinary.parse(WasmBytes.memoryModule(1, -1));
    assertEquals(List.of("_start"), w.functionExports());
  }

  @Test
  void imports_wasiImport_listsModuleNameAndKind() throws Exception {
    WasmBinary w = WasmBinary.parse(WasmBytes.growBy100PagesModule());
    assertEquals(
        List.of(new WasmBinary.Import("wasi_snapshot_preview1", "proc_exit", 0)), w.imports());
    assertEquals(List.of("_start"), w.functionExports());
  }

  @Test
  void memory_withoutMaximum_readsMinAndUnbounded() throws Exception {
    WasmBinary w = WasmBinary.parse(WasmBytes.memoryModule(2, -1));
    assertEquals(Optional.of(new WasmBinary.Limits(2, -1, false)), w.memory());
  }

  @Test
  void memory_withMaximum_readsMinAndMax() throws Exception {
    WasmBinary w = WasmBinary.parse(WasmBytes.memoryModule(3, 300));
    assertEquals(Optional.of(new WasmBinary.Limits(3, 300, false)), w.memory());
  }

  @Test
  void memory_sixtyFourBit_throws() {
    byte[] m = module(section(MEMORY, vec(bytes(4, 1))));
    WasmFormatException e = assertThrows(WasmFormatException.class, () -> WasmBinary.parse(m));
    assertTrue(e.getMessage().contains("64-bit"), e.getMessage());
  }

  @Test
  void withMemoryMaximum_unbounded_setsMaxToCapAndStillCompiles() throws Exception {
    byte[] capped = WasmBinary.parse(WasmBytes.memoryModule(1, -1)).withMemoryMaximum(16);
    WasmBinary reparsed = WasmBinary.parse(capped);
    assertEquals(Optional.of(new WasmBinary.Limits(1, 16, false)), reparsed.memory());
    assertEquals(List.of("_start"), reparsed.functionExports());
  }

  @Test
  void withMemoryMaximum_largerMax_lowersMaxToCap() throws Exception {
    byte[] capped = WasmBinary.parse(WasmBytes.memoryModule(1, 1000)).withMemoryMaximum(20);
    assertEquals(
        Optional.of(new WasmBinary.Limits(1, 20, false)), WasmBinary.parse(capped).memory());
  }

  @Test
  void withMemoryMaximum_maxAlreadyBelowCap_returnsSameBytes() throws Exception {
    byte[] original = WasmBytes.memoryModule(1, 4);
    assertSame(original, WasmBinary.parse(original).withMemoryMaximum(16));
  }

  @Test
  void withMemoryMaximum_noMemory_returnsSameBytes() throws Exception {
    byte[] original = WasmBytes.emptyFunctionModule("_start");
    assertSame(original, WasmBinary.parse(original).withMemoryMaximum(16));
  }

  @Test
  void withMemoryMaximum_minAboveCap_throwsNamingBothSizes() throws Exception {
    WasmBinary w = WasmBinary.parse(WasmBytes.memoryModule(32, -1));
    WasmFormatException e = assertThrows(WasmFormatException.class, () -> w.withMemoryMaximum(16));
    assertTrue(
        e.getMessage().contains("2 MiB") && e.getMessage().contains("1 MiB"), e.getMessage());
  }

  @Test
  void withMemoryMaximum_paddedSectionSize_replacesWholeHeader() throws Exception {
    // Linkers emit padded 5-byte LEB128 section sizes; the rewrite must drop all of it.
    byte[] original = WasmBytes.paddedMemorySectionModule();
    assertEquals(
        Optional.of(new WasmBinary.Limits(1, -1, false)), WasmBinary.parse(original).memory());

    byte[] capped = WasmBinary.parse(original).withMemoryMaximum(8);

    WasmBinary reparsed = WasmBinary.parse(capped);
    assertEquals(Optional.of(new WasmBinary.Limits(1, 8, false)), reparsed.memory());
    assertEquals(List.of("_start"), reparsed.functionExports());
  }

  @Test
  void withMemoryMaximum_sectionsAroundMemory_keptByteForByte() throws Exception {
    byte[] original = WasmBytes.memoryModule(1, -1);
    byte[] capped = WasmBinary.parse(original).withMemoryMaximum(16);
    // Only the memory section changes: 00 01 -> 01 01 10, and its size byte 3 -> 4.
    int memoryAt = indexOf(original, bytes(MEMORY, 3, 1, 0, 1));
    assertArrayEquals(
        Arrays.copyOfRange(original, 0, memoryAt), Arrays.copyOfRange(capped, 0, memoryAt));
    assertArrayEquals(
        bytes(MEMORY, 4, 1, 1, 1, 16), Arrays.copyOfRange(capped, memoryAt, memoryAt + 6));
    assertArrayEquals(
        Arrays.copyOfRange(original, memoryAt + 5, original.length),
        Arrays.copyOfRange(capped, memoryAt + 6, capped.length));
  }

  @Test
  void parse_sectionRunsPastEnd_throws() {
    byte[] m = concat(module(), bytes(TYPE, 0x20, 1, 0x60));
    WasmFormatException e = assertThrows(WasmFormatException.class, () -> WasmBinary.parse(m));
    assertTrue(e.getMessage().contains("runs past the end"), e.getMessage());
  }

  @Test
  void parse_sectionSizeMissing_throws() {
    byte[] m = concat(module(), bytes(EXPORT));
    assertThrows(WasmFormatException.class, () -> WasmBinary.parse(m));
  }

  @Test
  void parse_exportNameRunsPastSection_throws() {
    byte[] m = module(section(EXPORT, bytes(1, 40, 'a', 'b')));
    WasmFormatException e = assertThrows(WasmFormatException.class, () -> WasmBinary.parse(m));
    assertTrue(e.getMessage().contains("name runs past"), e.getMessage());
  }

  @Test
  void parse_overlongLeb_throws() {
    byte[] m = concat(module(), bytes(TYPE, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80));
    assertThrows(WasmFormatException.class, () -> WasmBinary.parse(m));
  }

  private static int indexOf(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i + needle.length <= haystack.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new AssertionError("pattern not found");
  }
}
