package io.krill.it.kubernetes;

import static io.krill.it.harness.KrillTasks.*;
import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.cri.api.v1.ContainerState;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.KubeApiFront;
import io.krill.it.harness.Pod;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@code kubectl exec -i} through containerd's CRI streaming server, which runs the exec as a task
 * exec of krill's shim with containerd's FIFOs: an exec ends when its guest exits, whether or not
 * the guest read the stdin it was given, as it does with runc.
 */
class ExecStreamsE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<CriContainerd> cris = ContainerdPerClass.withCri();

  private static final byte[] INPUT = "hi\n".getBytes(StandardCharsets.UTF_8);

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void execWithStdin_endsWhenTheGuestExitsWithoutReadingIt(ContainerdVersion v) throws Exception {
    CriContainerd c = cris.get(v);
    try (KubeApiFront front = new KubeApiFront(c.cri())) {
      Pod pod = runPod(c, "exec-stdin");
      String ref = pull(c, c.push(CriContainerd.Image.PROGS));
      String id = createAndStart(c, pod, containerConfig("sleeper", ref, "/sleep.wasm", "600"));
      awaitRunning(c, id);
      front.addPod("sleeper", new KubeApiFront.PodEntry("app", id, false));
      Path dir = c.newDir("kubectl");

      // echo hi | kubectl exec -i ... -- /hello.wasm: the guest never reads its stdin.
      long t0 = System.nanoTime();
      KubeApiFront.Kubectl piped =
          front.kubectl(dir, INPUT, "exec", "-i", "sleeper", "-c", "app", "--", "/hello.wasm");
      long pipedMs = (System.nanoTime() - t0) / 1_000_000;
      assertEquals(0, piped.exit(), piped.stderr());
      assertEquals(HELLO, piped.out());
      assertTrue(pipedMs < 20_000, "kubectl exec -i took " + pipedMs + " ms");

      // The same with the client's stdin still open: the guest's exit ends the exec.
      KubeApiFront.Kubectl open =
          front.kubectlKeepingStdinOpen(
              dir, INPUT, "exec", "-i", "sleeper", "-c", "app", "--", "/exit.wasm", "3");
      assertEquals(3, open.exit(), open.stderr());

      // A guest that does read it still gets all of it, and end-of-file.
      KubeApiFront.Kubectl cat =
          front.kubectl(dir, INPUT, "exec", "-i", "sleeper", "-c", "app", "--", "/stdin.wasm");
      assertEquals(0, cat.exit(), cat.stderr());
      assertEquals("hi\neof\n", cat.out());

      assertEquals(
          ContainerState.CONTAINER_RUNNING,
          status(c, id).getState(),
          "exec must not touch the container");
      teardown(c, pod, id);
      assertEquals(List.of(), krillTasks(c));
      c.assertNoLeaks();
    }
  }
}
