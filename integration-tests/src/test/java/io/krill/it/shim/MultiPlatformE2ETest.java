package io.krill.it.shim;

import static io.krill.it.harness.KrillCli.krillOk;
import static io.krill.it.harness.KrillTasks.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.it.harness.Containerd;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.LocalRegistry;
import io.krill.it.harness.MultiPlatformImages;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.Result;
import io.krill.it.harness.TestPrograms;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * An index with a {@code linux/<host>} entry beside a {@code wasip1/wasm} entry, pushed to a local
 * registry and pulled and run by ctr with and without {@code --platform wasip1/wasm}: krill runs
 * the wasm entry's module whenever containerd holds it, and says how to pull it when it does not.
 * Exact outcomes are in docs/images.md.
 */
class MultiPlatformE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<Containerd> containerds = ContainerdPerClass.withKrill();

  private static final String NS = "krill-index";
  private static final List<String> WASM = List.of("--platform", "wasip1/wasm");
  @TempDir static Path shared;
  static LocalRegistry registry;

  @BeforeAll
  static void startRegistry() throws IOException {
    registry = new LocalRegistry(Files.createDirectories(shared.resolve("registry")));
  }

  @AfterAll
  static void stopRegistry() {
    registry.close();
  }

  private static String push(Path layout, String name) {
    String ref = registry.host() + "/" + name;
    krillOk("image", "push", layout.toString(), ref, "--plain-http");
    return ref;
  }

  private static Result pull(Containerd c, String ref, String... options) {
    return c.ctr(
        concat(List.of("-n", NS, "images", "pull", "--plain-http"), concat(List.of(options), ref)));
  }

  private static Result runWith(Containerd c, List<String> options, String ref, String prefix) {
    List<String> args = new ArrayList<>(options);
    args.add(ref);
    args.add(id(prefix));
    return run(c, NS, args.toArray(String[]::new));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void index_wasmEntryRunWhenPresent_pullAdviceWhenAbsent(ContainerdVersion v, @TempDir Path tmp)
      throws IOException {
    byte[] hello = Files.readAllBytes(TestPrograms.path("hello.wasm"));
    String layerRef =
        push(
            MultiPlatformImages.withWasmLayer(tmp.resolve("l"), hello),
            "index/layer-" + v.label() + ":v1");
    String tarRef =
        push(
            MultiPlatformImages.withTarLayer(tmp.resolve("t"), hello),
            "index/tar-" + v.label() + ":v1");
    Containerd c = containerds.get(v);
    // Wasm entry as a wasm layer. ctr 1.x pulls only the host's entry by default: krill finds the
    // linux
    // entry's ELF in the rootfs and the wasm manifest absent. ctr 2.x pulls every platform's
    // content.
    assertTrue(pull(c, layerRef).ok());
    if (v == ContainerdVersion.V2_1) {
      assertEquals(HELLO, runOk(c, NS, layerRef, id("ix")).stdout());
      // Even when asked for linux only, ctr 2.1 fetches every platform's content (it unpacks one).
      String linuxOnly =
          push(MultiPlatformImages.withWasmLayer(tmp.resolve("h"), hello), "index/linux-2.1:v1");
      assertTrue(pull(c, linuxOnly, "--platform", "linux/" + OciImage.hostArchitecture()).ok());
      assertEquals(HELLO, runOk(c, NS, linuxOnly, id("ix")).stdout());
    } else {
      Result absent = runWith(c, List.of(), layerRef, "ix");
      assertFalse(absent.ok(), absent.toString());
      assertTrue(
          absent
              .stderr()
              .contains(
                  "image "
                      + layerRef
                      + " has a wasip1/wasm entry, but containerd"
                      + " holds only another platform's content: pull it with `ctr images pull --platform wasip1/wasm "
                      + layerRef
                      + "`"),
          absent.toString());
    }
    Result all = pull(c, layerRef, "--all-platforms");
    Result wasmRun = runWith(c, WASM, layerRef, "ix");
    if (v == ContainerdVersion.V1_6) {
      // 1.6.20 fetches everything but cannot unpack the wasm entry (see ImageE2ETest); the linux
      // entry is unpacked, so a plain run works and --platform wasip1/wasm does not.
      assertFalse(all.ok(), all.toString());
      assertTrue(
          all.stderr().contains("ctr: mismatched image rootfs and manifest layers"),
          all.toString());
      assertFalse(wasmRun.ok(), wasmRun.toString());
      assertTrue(
          wasmRun.stderr().contains("ctr: mismatched image rootfs and manifest layers"),
          wasmRun.toString());
    } else {
      assertTrue(all.ok(), all.toString());
      assertEquals(HELLO, wasmRun.stdout(), wasmRun.toString());
    }
    // The rootfs is the linux entry's (an ELF at /hello); krill runs the wasm entry's layer.
    assertEquals(HELLO, runOk(c, NS, layerRef, id("ix")).stdout());

    // Wasm entry as a tar layer: --platform wasip1/wasm on both pull and run unpacks the module
    // itself.
    Result tarPull = pull(c, tarRef, "--platform", "wasip1/wasm");
    assertTrue(tarPull.ok(), tarPull.toString());
    Result tarRun = runWith(c, WASM, tarRef, "ix");
    assertEquals(HELLO, tarRun.stdout(), tarRun.toString());
    // Without --platform, ctr makes the container from the linux entry, whose rootfs has no module.
    Result noPlatform = runWith(c, List.of(), tarRef, "ix");
    assertFalse(noPlatform.ok(), noPlatform.toString());
    assertTrue(
        noPlatform.stderr().contains("keeps it in a tar layer of its wasip1/wasm entry"),
        noPlatform.toString());
    Result tarAll = pull(c, tarRef, "--all-platforms");
    assertTrue(tarAll.ok(), tarAll.toString());
    Result linuxRootfs = runWith(c, List.of(), tarRef, "ix");
    assertFalse(linuxRootfs.ok(), linuxRootfs.toString());
    assertTrue(
        linuxRootfs
            .stderr()
            .contains(
                "image "
                    + tarRef
                    + " keeps it in a tar layer of its wasip1/wasm"
                    + " entry, which containerd unpacks only for `ctr run --platform wasip1/wasm`"),
        linuxRootfs.toString());
    c.assertNoLeaks();
  }
}
