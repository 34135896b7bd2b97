package io.krill.it.kubernetes;

import static io.krill.it.harness.KrillTasks.*;
import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.Mount;
import io.krill.cri.api.v1.RemoveContainerRequest;
import io.krill.cri.api.v1.StopContainerRequest;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriConfig;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.Host;
import io.krill.it.harness.KubeApiFront;
import io.krill.it.harness.Pod;
import io.krill.it.harness.Tasks;
import io.krill.it.harness.TestPrograms;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The WASI a Kubernetes container sees through containerd's CRI: the pod's /etc files (file bind
 * mounts containerd makes), exit codes above 125 in the container's status, the CPU-time clocks,
 * snapshot 0, the directory semantics of {@code dirs.wasm} on a hostPath mount, and stdin piped
 * through kubectl exec and attach to its end.
 */
class CriWasiE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<CriContainerd> cris = ContainerdPerClass.withCri();

  private static final String[] ENGINES = {"wasmtime", "chicory"};

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

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void exitCodesClocksSnapshot0AndDirectorySemantics(ContainerdVersion v) throws Exception {
    CriContainerd c = cris.get(v);
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    for (String engine : ENGINES) {
      semantics(c, ref, engine);
    }
    c.assertNoLeaks();
  }

  private static void semantics(CriContainerd c, String ref, String engine) throws Exception {
    Pod pod = enginePod(c, "wasi-sem-" + engine, engine);
    List<String> ids = new ArrayList<>();
    int[] codes = {126, 127, 137, 255};
    for (int code : codes) {
      ids.add(
          createAndStart(
              c, pod, containerConfig("exit" + code, ref, "/exit.wasm", Integer.toString(code))));
    }
    String clocks = createAndStart(c, pod, containerConfig("clocks", ref, "/clocks.wasm"));
    String unstable = createAndStart(c, pod, containerConfig("unstable", ref, "/unstable.wasm"));
    Path host = c.newDir("dirs");
    String dirs =
        createAndStart(
            c,
            pod,
            containerConfig("dirs", ref, "/dirs.wasm", "/dir")
                .addMounts(
                    Mount.newBuilder().setContainerPath("/dir").setHostPath(host.toString())));

    for (int i = 0; i < codes.length; i++) {
      ContainerStatus st = awaitExited(c, ids.get(i));
      assertEquals(codes[i], st.getExitCode(), st.toString());
    }
    assertEquals(0, awaitExited(c, clocks).getExitCode(), log(pod, "clocks"));
    assertEquals(
        List.of("realtime ok", "monotonic ok", "process ok", "thread ok"),
        stdoutLines(pod, "clocks"));
    assertEquals(5, awaitExited(c, unstable).getExitCode(), log(pod, "unstable"));
    assertEquals(List.of("hello from wasi_unstable"), stdoutLines(pod, "unstable"));
    assertEquals(0, awaitExited(c, dirs).getExitCode(), log(pod, "dirs"));
    // No stdin: the container reads /dev/null, readable and at its end at once.
    List<String> expected = new ArrayList<>(TestPrograms.DIRS_LINES);
    expected.set(expected.size() - 1, "stdin bytes: 0");
    assertEquals(expected, stdoutLines(pod, "dirs"), engine);
    assertRanOn(c, dirs, engine);

    ids.addAll(List.of(clocks, unstable, dirs));
    teardown(c, pod, ids.toArray(String[]::new));
    assertEquals(List.of(), krillTasks(c));
  }

  /** kubectl exec -i and attach -i through containerd's streaming server: every byte, then EOF. */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void stdinThroughExecAndAttachArrivesWhole(ContainerdVersion v) throws Exception {
    CriContainerd c = cris.get(v);
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    for (String engine : ENGINES) {
      stdinThrough(c, ref, engine);
    }
    c.assertNoLeaks();
  }

  private static void stdinThrough(CriContainerd c, String ref, String engine) throws Exception {
    try (KubeApiFront front = new KubeApiFront(c.cri())) {
      Pod pod = enginePod(c, "wasi-stdin-" + engine, engine);
      String sleeper =
          createAndStart(c, pod, containerConfig("sleeper", ref, "/sleep.wasm", "600"));
      awaitRunning(c, sleeper);
      String sum =
          createAndStart(
              c,
              pod,
              containerConfig("sum", ref, "/stdinsum.wasm").setStdin(true).setStdinOnce(true));
      awaitRunning(c, sum);
      front.addPod("sleeper", new KubeApiFront.PodEntry("app", sleeper, false));
      front.addPod("sum", new KubeApiFront.PodEntry("app", sum, true));
      Path dir = c.newDir("kubectl");
      Random random = new Random(11);

      for (int size : new int[] {10_000, 6_900_000}) {
        byte[] input = new byte[size];
        random.nextBytes(input);
        KubeApiFront.Kubectl exec =
            front.kubectl(dir, input, "exec", "-i", "sleeper", "-c", "app", "--", "/stdinsum.wasm");
        assertEquals(0, exec.exit(), exec.stderr());
        assertEquals("bytes " + size + " fnv1a " + TestPrograms.fnv1a(input) + "\n", exec.out());
      }

      byte[] input = new byte[10_000];
      random.nextBytes(input);
      KubeApiFront.Kubectl attach = front.kubectl(dir, input, "attach", "-i", "sum", "-c", "app");
      assertEquals(0, attach.exit(), attach.stderr());
      assertTrue(
          attach.out().endsWith("bytes 10000 fnv1a " + TestPrograms.fnv1a(input) + "\n"),
          attach.out());
      assertEquals(0, awaitExited(c, sum).getExitCode());
      assertRanOn(c, sum, engine);

      teardown(c, pod, sleeper, sum);
      assertEquals(List.of(), krillTasks(c));
    }
  }

  /**
   * StopContainer with no grace (SIGKILL) stops a guest spinning, sleeping in poll_oneoff, blocked
   * reading a stdin nobody attaches to, or streaming stdout into containerd's log: exit 137, and
   * once removed its guest thread has ended and the daemon holds no descriptor of it.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void stopEndsAGuestInAnyState_itsThreadAndDescriptorsGo(ContainerdVersion v) throws Exception {
    CriContainerd c = cris.get(v);
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    for (String engine : ENGINES) {
      stopInAnyState(c, ref, engine);
    }
    c.assertNoLeaks();
  }

  private static void stopInAnyState(CriContainerd c, String ref, String engine) throws Exception {
    Pod pod = enginePod(c, "wasi-kill-" + engine, engine);
    Map<String, String> ids = new LinkedHashMap<>();
    ids.put("spin", createAndStart(c, pod, containerConfig("spin", ref, "/spin.wasm")));
    ids.put("poll", createAndStart(c, pod, containerConfig("poll", ref, "/sleep.wasm", "600")));
    ids.put(
        "stdin",
        createAndStart(
            c,
            pod,
            containerConfig("stdin", ref, "/stdin.wasm").setStdin(true).setStdinOnce(true)));
    ids.put(
        "stdout",
        createAndStart(c, pod, containerConfig("stdout", ref, "/stream.wasm", "x", "100000000")));
    for (String id : ids.values()) {
      awaitRunning(c, id);
    }
    // A krill task's pid is its daemon's (the pod sandbox's pause stand-in is another process).
    long daemon = Tasks.list(c.containerd(), CriContainerd.NAMESPACE).get(ids.get("spin")).pid();
    assertTrue(Host.alive(daemon), "no krill daemon " + daemon);
    Thread.sleep(1000);
    Map<Long, String> running = Host.threads(daemon);

    for (Map.Entry<String, String> e : ids.entrySet()) {
      String id = e.getValue();
      String what = e.getKey() + " on " + engine + " (" + id + ")";
      Map<Long, String> own = new TreeMap<>(running);
      own.values().removeIf(n -> !Host.isGuestThreadOf(n, id));
      assertTrue(
          own.values().stream().anyMatch(n -> n.startsWith("guest-")),
          what + ": no guest thread in daemon " + daemon + ": " + running.values());
      call(
          c,
          "StopContainer",
          () ->
              c.cri()
                  .runtime()
                  .stopContainer(
                      StopContainerRequest.newBuilder().setContainerId(id).setTimeout(0).build()));
      ContainerStatus st = awaitExited(c, id);
      assertEquals(SIGKILL_EXIT, st.getExitCode(), what + ": " + st);
      call(
          c,
          "RemoveContainer",
          () ->
              c.cri()
                  .runtime()
                  .removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build()));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
      List<String> left;
      do {
        Map<Long, String> now = Host.threads(daemon);
        left = new ArrayList<>();
        for (Map.Entry<Long, String> t : own.entrySet()) {
          if (t.getValue().equals(now.get(t.getKey()))) {
            left.add(t.getKey() + " " + t.getValue());
          }
        }
        Host.fds(daemon).values().stream().filter(f -> f.contains(id)).forEach(left::add);
        if (left.isEmpty()) {
          break;
        }
        Thread.sleep(100);
      } while (System.nanoTime() < deadline);
      assertEquals(List.of(), left, what + ": threads and descriptors left 5 s after removal");
    }

    assertRanOn(c, ids.get("spin"), engine);
    teardown(c, pod);
    assertEquals(List.of(), krillTasks(c));
  }

  /** A pod whose containers run on {@code engine} (the pod annotation krill.io/engine). */
  private static Pod enginePod(CriContainerd c, String name, String engine) {
    return runPod(
        c,
        podConfig(c, name).toBuilder().putAnnotations("krill.io/engine", engine).build(),
        CriConfig.HANDLER);
  }

  private static void assertRanOn(CriContainerd c, String id, String engine) throws Exception {
    String logs = Host.daemonLogs(c.containerd().runDir());
    assertTrue(
        Arrays.stream(logs.split("\n"))
            .anyMatch(
                l ->
                    l.contains("container=" + id + " ")
                        && l.contains("created on engine " + engine)),
        "container " + id + " did not run on " + engine);
  }

  /** What the container wrote on stdout, line by line, from its CRI log. */
  private static List<String> stdoutLines(Pod pod, String container) throws Exception {
    List<String> out = new ArrayList<>();
    for (String line : log(pod, container).split("\n")) {
      String[] f = line.split(" ", 4);
      if (f.length == 4 && f[1].equals("stdout")) {
        out.add(f[3]);
      }
    }
    return out;
  }

  private static String log(Pod pod, String container) throws Exception {
    return Files.readString(logFile(pod, container), StandardCharsets.UTF_8);
  }
}
