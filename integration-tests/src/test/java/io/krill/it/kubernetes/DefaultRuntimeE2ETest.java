package io.krill.it.kubernetes;

import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.ContainerState;
import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.PodSandboxState;
import io.krill.cri.api.v1.PodSandboxStatus;
import io.krill.cri.api.v1.PodSandboxStatusRequest;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.Dist;
import io.krill.it.harness.Pod;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * krill as containerd's default runtime ({@code default_runtime_name = "krill"}, as
 * docs/kubernetes.md shows it): pods without a RuntimeClass, CRI runtime handler {@code ""}, run on
 * krill.
 */
class DefaultRuntimeE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<CriContainerd> cris = ContainerdPerClass.withCriKrillAsDefault();

  private static final ObjectMapper JSON = new ObjectMapper();

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void podWithoutRuntimeClass_runsOnKrill(ContainerdVersion v) throws Exception {
    CriContainerd c = cris.get(v);
    Pod pod = runPod(c, "plain", "");
    PodSandboxStatus ps =
        c.cri()
            .runtime()
            .podSandboxStatus(
                PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod.id()).build())
            .getStatus();
    assertEquals(PodSandboxState.SANDBOX_READY, ps.getState(), ps.toString());
    assertEquals("", ps.getRuntimeHandler(), "a pod without a RuntimeClass: " + ps);
    assertTrue(
        krillTasks(c).contains(pod.id()), "the sandbox's task in ctr tasks ls: " + krillTasks(c));
    assertEquals(Dist.RUNTIME, runtimeOf(c, pod.id()), "the sandbox's runtime");

    String ref = pull(c, c.push(CriContainerd.Image.HELLO));
    String id = createAndStart(c, pod, containerConfig("hello", ref));
    ContainerStatus s = awaitExited(c, id);
    assertEquals(0, s.getExitCode(), s.toString());
    assertEquals("Completed", s.getReason(), s.toString());
    assertEquals(Dist.RUNTIME, runtimeOf(c, id), "the container's runtime");
    List<String> log = Files.readAllLines(logFile(pod, "hello"), StandardCharsets.UTF_8);
    assertEquals(1, log.size(), "CRI log: " + log);
    assertTrue(log.get(0).endsWith(" stdout F hello from krill"), "CRI log line: " + log.get(0));

    teardown(c, pod, id);
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  /** With krill the default, every pod goes to krill: a Linux image fails with krill's error. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void linuxImageWithoutRuntimeClass_failsWithKrillsError(ContainerdVersion v) {
    CriContainerd c = cris.get(v);
    Pod pod = runPod(c, "linux", "");
    String ref = pull(c, c.push(CriContainerd.Image.LINUX));
    String id = create(c, pod, containerConfig("app", ref));
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                c.cri()
                    .runtime()
                    .startContainer(StartContainerRequest.newBuilder().setContainerId(id).build()));
    String msg = String.valueOf(e.getStatus().getDescription());
    assertTrue(
        msg.contains(
            "container "
                + id
                + ": module /bin/app is a Linux executable (ELF), not WebAssembly: run it with"
                + " runc, not krill"),
        "StartContainer error names the container and its entrypoint: " + e.getStatus());
    ContainerStatus failed = status(c, id);
    assertEquals(ContainerState.CONTAINER_EXITED, failed.getState(), failed.toString());

    teardown(c, pod, id);
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  /** The runtime containerd recorded for container {@code id}, per ctr containers info. */
  private static String runtimeOf(CriContainerd c, String id) throws Exception {
    JsonNode info =
        JSON.readTree(
            c.containerd().ok("-n", CriContainerd.NAMESPACE, "containers", "info", id).stdout());
    return info.path("Runtime").path("Name").asText();
  }
}
