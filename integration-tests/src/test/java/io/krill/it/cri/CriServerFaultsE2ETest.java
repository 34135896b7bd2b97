package io.krill.it.cri;

import static io.krill.it.harness.CriCalls.awaitExit;
import static io.krill.it.harness.CriCalls.expectError;
import static io.krill.it.harness.CriCalls.status;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.*;
import io.krill.it.harness.CriClient;
import io.krill.it.harness.KrillCriFixture;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.Pod;
import io.krill.it.harness.TestPrograms;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guests that fail in every way a wasm guest can, side by side in one {@code krill cri} daemon with
 * a healthy sibling: each ends with its own exit code, reason and log message, and the daemon, the
 * sibling and exec into it carry on.
 */
class CriServerFaultsE2ETest {
  private static final long MIB = 1 << 20;

  @TempDir static Path tmp;
  static KrillCriFixture krill;
  static String ref;
  static CriClient cri;
  static PodSandboxConfig podConfig;
  static String pod;

  @BeforeAll
  static void setUp() throws IOException {
    krill = KrillCriFixture.in(tmp).start();
    Map<String, byte[]> progs = new LinkedHashMap<>();
    for (String m :
        List.of(
            "sleep.wasm",
            "healthz.wasm",
            "trap.wasm",
            "spin.wasm",
            "memhog.wasm",
            "recurse.wasm")) {
      progs.put("/" + m, TestPrograms.bytes(m));
    }
    progs.put("/garbage.wasm", "this is not a wasm module".getBytes());
    Path tar =
        OciImage.named("cri/faults:v1")
            .layer(progs)
            .entrypoint("/sleep.wasm", "600")
            .writeTarball(tmp.resolve("faults.tar"));
    ref = krill.registry().push(tar, "cri/faults:v1");
    cri = krill.cri();
    krill.pull(ref);
    Pod p = krill.runHostPod("faults", tmp.resolve("logs"));
    podConfig = p.config();
    pod = p.id();
  }

  @AfterAll
  static void tearDown() {
    if (krill != null) {
      krill.close();
    }
  }

  static String create(String name, long memoryLimit, String... command) {
    ContainerConfig.Builder cc =
        ContainerConfig.newBuilder()
            .setMetadata(ContainerMetadata.newBuilder().setName(name))
            .setImage(ImageSpec.newBuilder().setImage(ref))
            .setLogPath(name + ".log")
            .addAllCommand(List.of(command));
    if (memoryLimit > 0) {
      cc.setLinux(
          LinuxContainerConfig.newBuilder()
              .setResources(
                  LinuxContainerResources.newBuilder().setMemoryLimitInBytes(memoryLimit)));
    }
    return cri.runtime()
        .createContainer(
            CreateContainerRequest.newBuilder()
                .setPodSandboxId(pod)
                .setConfig(cc)
                .setSandboxConfig(podConfig)
                .build())
        .getContainerId();
  }

  static String start(String name, long memoryLimit, String... command) {
    String id = create(name, memoryLimit, command);
    cri.runtime().startContainer(StartContainerRequest.newBuilder().setContainerId(id).build());
    return id;
  }

  static String log(String name) throws IOException, InterruptedException {
    Path log = tmp.resolve("logs").resolve(name + ".log");
    // The log's last line is written by the pump just after the exit is recorded.
    for (int i = 0; i < 200 && !(Files.exists(log) && Files.readString(log).endsWith("\n")); i++) {
      Thread.sleep(50);
    }
    return Files.exists(log) ? Files.readString(log) : "";
  }

  @Test
  void trapsSpinsOomAndStackOverflow_endTheirOwnContainer_siblingAndDaemonCarryOn()
      throws Exception {
    String sibling = start("sibling", 0);

    String trap = start("trap", 0, "/trap.wasm");
    ContainerStatus trapped = awaitExit(cri, trap);
    assertEquals(134, trapped.getExitCode(), trapped.toString());
    assertEquals("Error", trapped.getReason());
    assertTrue(
        log("trap").contains("stderr F krill: container " + trap + ": wasm trap"), log("trap"));

    String deep = start("recurse", 0, "/recurse.wasm");
    ContainerStatus overflowed = awaitExit(cri, deep);
    assertEquals(134, overflowed.getExitCode(), overflowed.toString());
    // C's shadow stack lives in linear memory: running off it is an out-of-bounds access.
    assertTrue(log("recurse").contains(deep + ": wasm trap: memory out of bounds"), log("recurse"));

    String hog = start("memhog", 32 * MIB, "/memhog.wasm");
    ContainerStatus oom = awaitExit(cri, hog);
    assertEquals(137, oom.getExitCode(), oom.toString());
    assertEquals("OOMKilled", oom.getReason(), oom.toString());

    // A guest that never calls the host is stopped by interrupting wasm itself.
    String spin = start("spin", 0, "/spin.wasm");
    assertEquals(ContainerState.CONTAINER_RUNNING, status(cri, spin).getState());
    cri.runtime()
        .stopContainer(
            StopContainerRequest.newBuilder().setContainerId(spin).setTimeout(1).build());
    ContainerStatus stopped = status(cri, spin);
    assertEquals(ContainerState.CONTAINER_EXITED, stopped.getState());
    assertTrue(stopped.getExitCode() == 143 || stopped.getExitCode() == 137, stopped.toString());

    // Not a module at all: CreateContainer fails naming the container and the module, and leaves
    // nothing.
    StatusRuntimeException e = expectError(() -> create("garbage", 0, "/garbage.wasm"));
    assertEquals(Status.Code.INVALID_ARGUMENT, e.getStatus().getCode());
    assertTrue(
        e.getStatus().getDescription().contains("/garbage.wasm is not a WebAssembly module"),
        e.getStatus().getDescription());

    assertEquals(ContainerState.CONTAINER_RUNNING, status(cri, sibling).getState());
    ExecSyncResponse probe =
        cri.runtime()
            .execSync(
                ExecSyncRequest.newBuilder()
                    .setContainerId(sibling)
                    .addCmd("/healthz.wasm#healthz")
                    .setTimeout(10)
                    .build());
    assertEquals(0, probe.getExitCode());
    assertEquals("ok\n", probe.getStdout().toStringUtf8());
    assertTrue(krill.daemon().isAlive());
    for (String id : List.of(trap, deep, hog, spin)) {
      cri.runtime().removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
    }
    assertEquals(
        1,
        cri.runtime()
            .listContainers(ListContainersRequest.getDefaultInstance())
            .getContainersCount());
  }
}
