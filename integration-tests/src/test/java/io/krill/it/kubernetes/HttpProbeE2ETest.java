package io.krill.it.kubernetes;

import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.krill.cri.api.v1.ContainerConfig;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriConfig;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.KubeletProber;
import io.krill.it.harness.Pod;
import io.krill.it.harness.ProbeScenarios;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * kubelet's httpGet and tcpSocket probes ({@link KubeletProber}, from the node to the pod IP)
 * against both HTTP shapes in pods through containerd's CRI plugin with a CNI bridge network, and
 * what kubelet does about a failed liveness probe (StopContainer with the grace period, a new
 * attempt in the same sandbox): see {@link ProbeScenarios} for each step. A WAGI container on
 * Wasmtime and on Chicory (pod annotation {@code krill.io/engine}), a listening guest on its
 * default engine (Chicory), each annotated on the pod as a Deployment would.
 */
class HttpProbeE2ETest {
  /** Far from common ports, as CriListeningGuestE2ETest's. */
  private static final int LISTEN_PORT = 38095;

  private static final int WAGI_PORT = 8080;

  @RegisterExtension
  static final ContainerdPerClass<CriContainerd> cris = ContainerdPerClass.withCri();

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void wagi_probesRestartAndDrain_onBothEngines(ContainerdVersion v) throws Exception {
    CriContainerd c = cris.get(v);
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    for (String engine : new String[] {"", "chicory"}) {
      // as a Deployment's pod template says it (Kubernetes has no container annotations)
      PodSandboxConfig.Builder cfg =
          podConfig(c, "probed-wagi" + engine).toBuilder()
              .putAnnotations("krill.io/wagi", "tcp://0.0.0.0:" + WAGI_PORT);
      if (!engine.isEmpty()) {
        cfg.putAnnotations("krill.io/engine", engine);
      }
      Pod pod = runPod(c, cfg.build(), CriConfig.HANDLER);
      ContainerConfig web = containerConfig("web", ref, "/wagi.wasm").build();
      ProbeScenarios s = new ProbeScenarios(c.cri(), pod, podIp(c, pod), web, () -> log(c));
      s.wagi(WAGI_PORT);
      teardown(c, pod, s.containers().toArray(String[]::new));
    }
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void listeningGuest_probesRestartAndDrain(ContainerdVersion v) throws Exception {
    CriContainerd c = cris.get(v);
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    // as a Deployment's pod template says it: the pod's annotation reaches its container's spec
    Pod pod =
        runPod(
            c,
            podConfig(c, "probed-listen").toBuilder()
                .putAnnotations("krill.io/listen", "tcp://0.0.0.0:" + LISTEN_PORT)
                .build(),
            CriConfig.HANDLER);
    ContainerConfig web = containerConfig("web", ref, "/serve.wasm").build();
    ProbeScenarios s = new ProbeScenarios(c.cri(), pod, podIp(c, pod), web, () -> log(c));
    s.listening(LISTEN_PORT);
    teardown(c, pod, s.containers().toArray(String[]::new));
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  private static String log(CriContainerd c) {
    return "\ncontainerd log tail:\n" + c.logTail(40);
  }
}
