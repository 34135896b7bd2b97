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
import java.nio.file.Files;
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

  /**
   * {@code kubectl exec -it}: containerd asks the shim for a terminal (stdin and one output stream)
   * and forwards kubectl's terminal size as ResizePty; the guest's output and exit code come back.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void execWithTty_outputAndExitCode(ContainerdVersion v) throws Exception {
    CriContainerd c = cris.get(v);
    try (KubeApiFront front = new KubeApiFront(c.cri())) {
      Pod pod = runPod(c, "exec-tty");
      String ref = pull(c, c.push(CriContainerd.Image.PROGS));
      String id = createAndStart(c, pod, containerConfig("sleeper", ref, "/sleep.wasm", "600"));
      awaitRunning(c, id);
      front.addPod("sleeper", new KubeApiFront.PodEntry("app", id, false));
      Path dir = c.newDir("kubectl");

      KubeApiFront.Kubectl hello =
          front.kubectlInTerminal(dir, "exec", "-it", "sleeper", "-c", "app", "--", "/hello.wasm");
      assertEquals(0, hello.exit(), hello.out() + hello.stderr());
      assertTrue(hello.out().contains(HELLO.trim()), hello.out());
      KubeApiFront.Kubectl three =
          front.kubectlInTerminal(
              dir, "exec", "-it", "sleeper", "-c", "app", "--", "/exit.wasm", "3");
      assertEquals(3, three.exit(), three.out() + three.stderr());
      // One output stream: krill's own message about a trap arrives on it.
      KubeApiFront.Kubectl trap =
          front.kubectlInTerminal(dir, "exec", "-it", "sleeper", "-c", "app", "--", "/trap.wasm");
      assertEquals(TRAP_EXIT, trap.exit(), trap.out() + trap.stderr());
      assertTrue(trap.out().contains("wasm trap"), trap.out());

      // A container with tty: true: its one output stream is its CRI log's stdout.
      String tty =
          createAndStart(
              c, pod, containerConfig("tty", ref, "/trap.wasm").setTty(true).setStdin(true));
      assertEquals(TRAP_EXIT, awaitExited(c, tty).getExitCode());
      String log = Files.readString(logFile(pod, "tty"), StandardCharsets.UTF_8);
      assertTrue(log.contains(" stdout ") && log.contains("wasm trap"), log);

      assertEquals(
          ContainerState.CONTAINER_RUNNING,
          status(c, id).getState(),
          "exec must not touch the container");
      teardown(c, pod, id, tty);
      assertEquals(List.of(), krillTasks(c));
      c.assertNoLeaks();
    }
  }
}
