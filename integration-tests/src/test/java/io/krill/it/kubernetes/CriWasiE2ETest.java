package io.krill.it.kubernetes;

import static io.krill.it.harness.KrillTasks.*;
import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.cri.api.v1.ContainerStatus;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.Pod;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The WASI a Kubernetes container sees through containerd's CRI: the pod's /etc files (file bind
 * mounts containerd makes) and exit codes above 125 in the container's status.
 */
class CriWasiE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<CriContainerd> cris = ContainerdPerClass.withCri();

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void podEtcFilesAreReadableAndExitCodesAbove125Reported(ContainerdVersion v) throws Exception {
    CriContainerd c = cris.get(v);
    Pod pod = runPod(c, "wasi-etc");
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));

    String hostname =
        createAndStart(
            c, pod, containerConfig("hostname", ref, "/files.wasm", "read", "/etc/hostname"));
    String resolv =
        createAndStart(
            c, pod, containerConfig("resolv", ref, "/files.wasm", "read", "/etc/resolv.conf"));
    String exit = createAndStart(c, pod, containerConfig("exit", ref, "/exit.wasm", "200"));

    ContainerStatus h = awaitExited(c, hostname);
    assertEquals(0, h.getExitCode(), h + log(pod, "hostname"));
    assertTrue(log(pod, "hostname").contains(" stdout F wasi-etc"), log(pod, "hostname"));
    ContainerStatus r = awaitExited(c, resolv);
    assertEquals(0, r.getExitCode(), r + log(pod, "resolv"));
    String firstLine =
        Files.readAllLines(java.nio.file.Path.of("/etc/resolv.conf")).stream()
            .filter(l -> !l.isBlank())
            .findFirst()
            .orElse("");
    assertTrue(log(pod, "resolv").contains(firstLine), log(pod, "resolv"));
    ContainerStatus e = awaitExited(c, exit);
    assertEquals(200, e.getExitCode(), e.toString());

    teardown(c, pod, hostname, resolv, exit);
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  private static String log(Pod pod, String container) throws Exception {
    return Files.readString(logFile(pod, container), StandardCharsets.UTF_8);
  }
}
