package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.engine.wasm.WasmBytes;
import io.krill.runtime.TaskFixture.Bundle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every refusal of Create is INVALID_ARGUMENT, names the container, says what to change, and leaves
 * nothing behind.
 */
@Timeout(120)
class TaskManagerCreateErrorsTest {
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

  private KrillException createFails(Bundle b) {
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));
    assertEquals(List.of(), f.tasks.ids());
    assertTrue(f.tasks.isEmpty());
    assertEquals(List.of(), f.events.of(b.id()));
    return e;
  }

  private KrillException invalid(Bundle b) {
    KrillException e = createFails(b);
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code(), e.getMessage());
    assertTrue(e.getMessage().contains("container " + b.id()), e.getMessage());
    return e;
  }

  @Test
  void create_missingModule_invalidArgumentNamingContainerAndNotFound() {
    KrillException e = invalid(f.bundle("c-missing", "/app.wasm", null, null, ""));
    assertTrue(e.getMessage().contains("not found"), e.getMessage());
    assertTrue(e.getMessage().contains("/app.wasm"), e.getMessage());
  }

  @Test
  void create_relativeModulePath_resolvedFromRoot() throws Exception {
    Bundle b =
        f.bundle("c-rel", "hello.wat", "hello.wat", TaskFixture.resource("wasm/hello.wat"), "");
    assertEquals(0, f.run(b).code());
  }

  @Test
  void create_elfExecutable_messageMentionsElf() {
    byte[] elf = WasmBytes.bytes(0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    KrillException e = invalid(f.bundle("c-elf", "/app", "app", elf, ""));
    assertTrue(e.getMessage().contains("ELF"), e.getMessage());
  }

  @Test
  void create_shellScript_messageSaysNotWebAssembly() {
    byte[] script = "#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8);
    KrillException e = invalid(f.bundle("c-sh", "/app.sh", "app.sh", script, ""));
    assertTrue(e.getMessage().contains("not a WebAssembly module"), e.getMessage());
  }

  @Test
  void create_missingEntryExport_messageListsExports() {
    byte[] module = WasmBytes.emptyFunctionModule("_start");
    KrillException e = invalid(f.bundle("c-noexport", "/app.wasm#serve", "app.wasm", module, ""));
    assertTrue(e.getMessage().contains("\"serve\""), e.getMessage());
    assertTrue(e.getMessage().contains("[_start]"), e.getMessage());
  }

  @Test
  void create_hashEntry_callsThatFunction() throws Exception {
    byte[] module = WasmBytes.emptyFunctionModule("serve");
    assertEquals(0, f.run(f.bundle("c-entry", "/app.wasm#serve", "app.wasm", module, "")).code());
  }

  @Test
  void create_componentBinary_messageSaysComponentsNotSupported() {
    byte[] component = WasmBytes.bytes(0, 'a', 's', 'm', 0x0d, 0, 1, 0);
    KrillException e = invalid(f.bundle("c-comp", "/app.wasm", "app.wasm", component, ""));
    assertTrue(e.getMessage().contains("components are not supported"), e.getMessage());
  }

  @Test
  void create_invalidFunctionBody_messageSaysNotValid() {
    // A body that ends without its `end` opcode: the section structure parses, Wasmtime rejects it.
    byte[] module =
        WasmBytes.module(
            WasmBytes.section(WasmBytes.TYPE, WasmBytes.vec(WasmBytes.bytes(0x60, 0, 0))),
            WasmBytes.section(WasmBytes.FUNCTION, WasmBytes.vec(WasmBytes.bytes(0))),
            WasmBytes.section(
                WasmBytes.EXPORT, WasmBytes.vec(WasmBytes.exportEntry("_start", 0, 0))),
            WasmBytes.section(WasmBytes.CODE, WasmBytes.vec(WasmBytes.bytes(2, 0, 0x01))));
    KrillException e = invalid(f.bundle("c-bad", "/app.wasm", "app.wasm", module, ""));
    assertTrue(e.getMessage().contains("not a valid WebAssembly module"), e.getMessage());
  }

  @Test
  void create_nonWasiImport_messageNamesImport() {
    byte[] wat =
        ("(module (import \"env\" \"host_log\" (func)) (func (export \"_start\")))")
            .getBytes(StandardCharsets.UTF_8);
    KrillException e = invalid(f.bundle("c-env", "/app.wat", "app.wat", wat, ""));
    assertTrue(e.getMessage().contains("env.host_log"), e.getMessage());
  }

  @Test
  void create_noArgs_messageSaysNoCommand() throws Exception {
    Bundle b = f.bundle("c-noargs", "", null, null, "");
    Files.writeString(
        b.dir().resolve("config.json"),
        Files.readString(b.dir().resolve("config.json")).replace("\"args\":[\"\"]", "\"args\":[]"));
    KrillException e = invalid(b);
    assertTrue(e.getMessage().contains("has no command"), e.getMessage());
  }

  @Test
  void create_emptyArgs0_messageSaysItIsEmpty() {
    KrillException e = invalid(f.bundle("c-empty", "", null, null, ""));
    assertTrue(e.getMessage().contains("process.args[0] is empty"), e.getMessage());
  }

  @Test
  void create_directory_messageSaysItIsADirectory() throws Exception {
    Bundle b = f.bundle("c-dir", "/app.wasm", null, null, "");
    Files.createDirectories(b.rootfs().resolve("app.wasm"));
    KrillException e = invalid(b);
    assertTrue(e.getMessage().contains("module /app.wasm is a directory"), e.getMessage());
  }

  @Test
  void create_noConfigJson_invalidArgument() throws Exception {
    Bundle b = f.bundleWithResource("c-noconfig", "hello.wat");
    Files.delete(b.dir().resolve("config.json"));
    KrillException e = invalid(b);
    assertTrue(e.getMessage().contains("config.json"), e.getMessage());
  }

  @Test
  void create_binaryStdio_invalidArgument() {
    Bundle b = f.bundleWithResource("c-binlog", "hello.wat");
    TaskSpec spec = b.spec(new Stdio(null, "binary:///usr/bin/logger?x=1", null, false));
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(spec));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(e.getMessage().contains("binary://"), e.getMessage());
  }

  @Test
  void create_moduleMinimumAboveMemoryLimit_invalidArgumentSaysRaiseLimit() {
    byte[] module = WasmBytes.memoryModule(32, -1);
    KrillException e =
        invalid(
            f.bundle(
                "c-big",
                "/app.wasm",
                "app.wasm",
                module,
                ",\"linux\":{\"resources\":{\"memory\":{\"limit\":1048576}}}"));
    assertTrue(e.getMessage().contains("raise the container's memory limit"), e.getMessage());
  }

  @Test
  void create_afterFailedCreate_sameIdCanBeCreated() throws Exception {
    Bundle b = f.bundle("c-retry", "/hello.wat", null, null, "");
    invalid(b);
    Files.write(b.rootfs().resolve("hello.wat"), TaskFixture.resource("wasm/hello.wat"));
    assertEquals(0, f.run(b).code());
  }

  @Test
  void create_watWithLongLeadingComment_accepted() throws Exception {
    String comment = ";; " + "x".repeat(300) + "\n";
    byte[] wat =
        (comment + new String(TaskFixture.resource("wasm/hello.wat"), StandardCharsets.UTF_8))
            .getBytes(StandardCharsets.UTF_8);
    assertEquals(0, f.run(f.bundle("c-comment", "/app.wat", "app.wat", wat, "")).code());
  }

  @Test
  void create_watMissingEntryExport_invalidArgument() {
    KrillException e =
        invalid(
            f.bundle(
                "c-watexport",
                "/hello.wat#serve",
                "hello.wat",
                TaskFixture.resource("wasm/hello.wat"),
                ""));
    assertTrue(e.getMessage().contains("\"serve\""), e.getMessage());
  }
}
