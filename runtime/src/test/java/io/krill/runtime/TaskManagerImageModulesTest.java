package io.krill.runtime;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.oci.RuntimeSpec;
import io.krill.runtime.ImageModules.ImageModule;
import io.krill.runtime.TaskFixture.Bundle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Containers whose image carries the module as a layer: the rootfs is empty and {@link
 * ImageModules} answers.
 */
@Timeout(120)
class TaskManagerImageModulesTest {
  private static final String IMAGE = "registry.test/wasm/app:v1";
  private static final String LAYER = "sha256:0123456789ab";

  @TempDir Path tmp;
  TaskFixture f;

  /** The fake's answer, and which containers it was asked about. */
  Optional<ImageModule> answer = Optional.empty();

  final List<String> asked = new ArrayList<>();

  private TaskFixture fixture(byte[] layer) {
    answer = layer == null ? Optional.empty() : Optional.of(new ImageModule(IMAGE, LAYER, layer));
    f =
        new TaskFixture(
            tmp,
            id -> {
              asked.add(id);
              return answer;
            });
    return f;
  }

  @AfterEach
  void tearDown() throws Exception {
    f.close();
  }

  /**
   * process.args as given; {@code bundle()} writes its argv0 into a JSON string, so this splices in
   * more.
   */
  private Bundle emptyRootfs(String id, String... args) {
    return f.bundle(id, String.join("\",\"", args), null, null, "");
  }

  @Test
  void create_moduleNotInRootfs_runsTheLayerWithTheCommandAsArgv() throws Exception {
    fixture(TaskFixture.resource("wasm/args.wat"));
    Bundle b = emptyRootfs("c-layer", "app.wasm", "one", "two words");
    assertEquals(0, f.run(b).code());
    assertEquals("app.wasm\none\ntwo words\n", b.stdoutText());
    assertEquals(List.of("c-layer"), asked);
  }

  @Test
  void create_noCommand_runsTheLayerWithTheImageNameAsArgv0() throws Exception {
    fixture(TaskFixture.resource("wasm/args.wat"));
    Bundle b = emptyRootfs("c-nocmd", "");
    Files.writeString(
        b.dir().resolve("config.json"),
        Files.readString(b.dir().resolve("config.json")).replace("\"args\":[\"\"]", "\"args\":[]"));
    assertEquals(0, f.run(b).code());
    assertEquals(IMAGE + "\n", b.stdoutText());
  }

  @Test
  void create_moduleInRootfs_layerNeverAsked() throws Exception {
    fixture(TaskFixture.resource("wasm/args.wat"));
    Bundle b =
        f.bundle("c-file", "/hello.wat", "hello.wat", TaskFixture.resource("wasm/hello.wat"), "");
    assertEquals(0, f.run(b).code());
    assertEquals("hello\n", b.stdoutText());
    assertEquals(List.of(), asked);
  }

  @Test
  void create_pathsNamingSomethingElse_refusedWithoutAskingTheImage() throws Exception {
    fixture(TaskFixture.resource("wasm/args.wat"));
    Bundle dir = emptyRootfs("c-dir", "/lib");
    Files.createDirectories(dir.rootfs().resolve("lib"));
    refusedUnasked(dir, "container c-dir: module /lib is a directory");
    refusedUnasked(emptyRootfs("c-empty", ""), "container c-empty: process.args[0] is empty");
    Bundle loop = emptyRootfs("c-loop", "/loop.wasm");
    Files.createSymbolicLink(loop.rootfs().resolve("loop.wasm"), Path.of("/loop.wasm"));
    refusedUnasked(loop, "container c-loop: module /loop.wasm: too many symbolic links");
    assertTrue(f.tasks.isEmpty());
  }

  private void refusedUnasked(Bundle b, String messageStart) {
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code(), e.getMessage());
    assertTrue(e.getMessage().startsWith(messageStart), e.getMessage());
    assertEquals(List.of(), asked);
  }

  @Test
  void create_pathClimbingOutOfTheRootfs_staysInsideAndAsksTheImage() throws Exception {
    fixture(null);
    Bundle b = emptyRootfs("c-up", "../../../../etc/hostname");
    KrillException e = assertThrows(KrillException.class, () -> f.tasks.create(b.spec()));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(
        e.getMessage()
            .startsWith(
                "container c-up: module /../../../../etc/hostname not found in the container's"
                    + " root filesystem"),
        e.getMessage());
    assertEquals(List.of("c-up"), asked);
  }

  @Test
  void create_rootfsHoldsAnElf_runsTheImageLayerInstead() throws Exception {
    // ctr run without --platform unpacks the linux/amd64 entry of an index; its wasip1/wasm entry
    // has the module.
    fixture(TaskFixture.resource("wasm/args.wat"));
    byte[] elf = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    Bundle b = f.bundle("c-elf", "/app\",\"one", "app", elf, "");
    assertEquals(0, f.run(b).code());
    assertEquals("/app\none\n", b.stdoutText());
    assertEquals(List.of("c-elf"), asked);
  }

  @Test
  void create_rootfsHoldsAnElfAndNoLayer_saysRunItWithRunc() {
    fixture(null);
    byte[] elf = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};
    KrillException e =
        assertThrows(
            KrillException.class,
            () -> f.tasks.create(f.bundle("c-elf2", "/app", "app", elf, "").spec()));
    assertTrue(
        e.getMessage().contains("a Linux executable (ELF), not WebAssembly: run it with runc"),
        e.getMessage());
  }

  @Test
  void create_imageWithoutWasmLayer_reportsTheMissingRootfsModule() {
    fixture(null);
    KrillException e =
        assertThrows(
            KrillException.class, () -> f.tasks.create(emptyRootfs("c-tar", "/app.wasm").spec()));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(
        e.getMessage()
            .startsWith("container c-tar: module /app.wasm not found in the container's root"),
        e.getMessage());
    assertTrue(f.tasks.isEmpty());
  }

  @Test
  void create_layerNotWasm_namesContainerAndLayer() {
    fixture("#!/bin/sh\necho hi\n".getBytes(StandardCharsets.UTF_8));
    KrillException e =
        assertThrows(
            KrillException.class, () -> f.tasks.create(emptyRootfs("c-sh", "app.wasm").spec()));
    assertEquals(ErrorCode.INVALID_ARGUMENT, e.code());
    assertTrue(
        e.getMessage()
            .startsWith(
                "container c-sh: the wasm layer "
                    + LAYER
                    + " of image "
                    + IMAGE
                    + " is not a WebAssembly module"),
        e.getMessage());
    assertEquals(List.of(), f.events.of("c-sh"));
  }

  @Test
  void create_componentLayer_componentsNotSupported() {
    byte[] component = {0, 'a', 's', 'm', 0x0d, 0, 1, 0};
    fixture(component);
    KrillException e =
        assertThrows(
            KrillException.class, () -> f.tasks.create(emptyRootfs("c-cmp", "app.wasm").spec()));
    assertTrue(e.getMessage().contains("container c-cmp"), e.getMessage());
    assertTrue(e.getMessage().contains("components are not supported"), e.getMessage());
  }

  @Test
  void create_layerWithoutTheNamedExport_saysHowToNameOne() {
    fixture(TaskFixture.resource("wasm/hello.wat"));
    KrillException e =
        assertThrows(
            KrillException.class,
            () -> f.tasks.create(emptyRootfs("c-fn", "app.wasm#serve").spec()));
    assertTrue(e.getMessage().contains("has no exported function \"serve\""), e.getMessage());
    assertTrue(e.getMessage().contains("process.args[0] = app.wasm#<function>"), e.getMessage());
  }

  /** Sleeps in _start; its "hello" export writes "hello\n". */
  private static final String SLEEP_AND_HELLO =
      """
      (module
        (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll (param i32 i32 i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "fd_write" (func $write (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1)
        (data (i32.const 256) "hello\\0a")
        (func (export "_start")
          (i32.store (i32.const 16) (i32.const 1))
          (i64.store (i32.const 24) (i64.const 3600000000000))
          (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))))
        (func (export "hello")
          (i32.store (i32.const 200) (i32.const 256))
          (i32.store (i32.const 204) (i32.const 6))
          (drop (call $write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 208)))))
      """;

  @Test
  void exec_namingTheLayerAsTheContainerDoes_runsItsExport_otherPathsStayMissing()
      throws Exception {
    fixture(SLEEP_AND_HELLO.getBytes(StandardCharsets.UTF_8));
    Bundle b = emptyRootfs("c-exec", "/app.wasm");
    f.tasks.create(b.spec());
    f.tasks.start(b.id());
    for (String ref : List.of("/app.wasm#hello", "#hello")) {
      Path out = Files.createFile(tmp.resolve("exec-" + ref.length() + ".out"));
      f.tasks.exec(
          new ExecSpec(
              "c-exec",
              "e" + ref.length(),
              new RuntimeSpec.Process(List.of(ref), List.of(), null, false),
              new Stdio(null, out.toString(), null, false)));
      f.tasks.start("c-exec", "e" + ref.length());
      assertEquals(
          0, f.tasks.waitFor("c-exec", "e" + ref.length()).get(30, TimeUnit.SECONDS).code());
      assertEquals("hello\n", Files.readString(out), ref);
    }
    KrillException e =
        assertThrows(
            KrillException.class,
            () ->
                f.tasks.exec(
                    new ExecSpec(
                        "c-exec",
                        "typo",
                        new RuntimeSpec.Process(
                            List.of("/other.wasm#hello"), List.of(), null, false),
                        Stdio.NONE)));
    assertTrue(e.getMessage().contains("module /other.wasm not found"), e.getMessage());
    assertTrue(
        e.getMessage().endsWith("which an exec names as /app.wasm#<function>"), e.getMessage());
  }
}
