package io.krill.it.kubernetes;

import static io.krill.it.harness.KrillTasks.*;
import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.ContainerMetadata;
import io.krill.cri.api.v1.ContainerState;
import io.krill.cri.api.v1.ContainerStats;
import io.krill.cri.api.v1.ContainerStatsRequest;
import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.ExecSyncRequest;
import io.krill.cri.api.v1.ExecSyncResponse;
import io.krill.cri.api.v1.ImageSpec;
import io.krill.cri.api.v1.ImageStatusRequest;
import io.krill.cri.api.v1.LinuxContainerConfig;
import io.krill.cri.api.v1.LinuxContainerResources;
import io.krill.cri.api.v1.ListContainerStatsRequest;
import io.krill.cri.api.v1.ListContainersRequest;
import io.krill.cri.api.v1.ListImagesRequest;
import io.krill.cri.api.v1.ListPodSandboxRequest;
import io.krill.cri.api.v1.PodSandbox;
import io.krill.cri.api.v1.PodSandboxFilter;
import io.krill.cri.api.v1.PodSandboxState;
import io.krill.cri.api.v1.PodSandboxStatus;
import io.krill.cri.api.v1.PodSandboxStatusRequest;
import io.krill.cri.api.v1.ReopenContainerLogRequest;
import io.krill.cri.api.v1.RuntimeCondition;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.cri.api.v1.StatusRequest;
import io.krill.cri.api.v1.StopContainerRequest;
import io.krill.cri.api.v1.VersionRequest;
import io.krill.cri.api.v1.VersionResponse;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.KubeApiFront;
import io.krill.it.harness.Pod;
import io.krill.it.harness.Tasks;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Kubernetes through containerd's CRI with RuntimeClass handler {@code krill}: the calls kubelet
 * makes, in its order, through the project's own CRI client. One CRI containerd, registry and
 * network per version serves the whole class.
 */
class CriE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<CriContainerd> cris = ContainerdPerClass.withCri();

  private static final long MIB = 1 << 20;

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void helloPod_runsToCompletedWithCriLog(ContainerdVersion v) throws Exception {
    CriContainerd c = cris.get(v);
    VersionResponse version =
        c.cri().runtime().version(VersionRequest.newBuilder().setVersion("v1").build());
    assertEquals("0.1.0", version.getVersion(), "kubelet refuses any other CRI version");
    assertEquals("containerd", version.getRuntimeName());
    Map<String, Boolean> conditions =
        c
            .cri()
            .runtime()
            .status(StatusRequest.getDefaultInstance())
            .getStatus()
            .getConditionsList()
            .stream()
            .collect(Collectors.toMap(RuntimeCondition::getType, RuntimeCondition::getStatus));
    // 2.x adds ContainerdHasNoDeprecationWarnings: the config the docs show must not trip it.
    assertEquals(true, conditions.get("RuntimeReady"), conditions.toString());
    assertEquals(true, conditions.get("NetworkReady"), conditions.toString());
    assertEquals(
        true,
        conditions.getOrDefault("ContainerdHasNoDeprecationWarnings", true),
        conditions.toString());

    Pod pod = runPod(c, "hello");
    PodSandboxStatus ps =
        c.cri()
            .runtime()
            .podSandboxStatus(
                PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod.id()).build())
            .getStatus();
    assertEquals(PodSandboxState.SANDBOX_READY, ps.getState(), ps.toString());
    assertFalse(ps.getNetwork().getIp().isEmpty(), "pod IP: " + ps);
    assertSandboxPidIsInThePodNetwork(c, pod.id(), ps.getNetwork().getIp());
    assertEquals("hello", ps.getLabelsOrThrow("io.kubernetes.pod.name"));
    assertEquals("hello", ps.getAnnotationsOrThrow("krill.test/pod"));

    // An image no other test pulls, so it is absent until this one pulls it.
    String ref = c.ref(CriContainerd.Image.HELLO_POD);
    ImageSpec spec = ImageSpec.newBuilder().setImage(ref).build();
    assertFalse(
        c.cri()
            .images()
            .imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build())
            .hasImage(),
        "an absent image is an empty status, not an error");
    c.push(CriContainerd.Image.HELLO_POD);
    assertFalse(pull(c, ref).isEmpty());
    assertTrue(
        c.cri()
            .images()
            .imageStatus(ImageStatusRequest.newBuilder().setImage(spec).build())
            .hasImage());
    assertTrue(
        c.cri().images().listImages(ListImagesRequest.getDefaultInstance()).getImagesList().stream()
            .anyMatch(i -> i.getRepoTagsList().contains(ref)),
        "ListImages shows " + ref);
    assertEquals(
        List.of(pod.id()),
        c
            .cri()
            .runtime()
            .listPodSandbox(
                ListPodSandboxRequest.newBuilder()
                    .setFilter(
                        PodSandboxFilter.newBuilder()
                            .putLabelSelector("io.kubernetes.pod.name", "hello"))
                    .build())
            .getItemsList()
            .stream()
            .map(PodSandbox::getId)
            .toList());

    String id = createAndStart(c, pod, containerConfig("hello", ref));
    ContainerStatus s = awaitExited(c, id);
    assertEquals(0, s.getExitCode(), s.toString());
    assertEquals("Completed", s.getReason());
    // Not finished >= started: CRI stamps started_at when Start returns, the shim stamps the exit,
    // and
    // a guest this short can exit first (seen on 1.6, by 2 ms).
    assertTrue(s.getStartedAt() > 0 && s.getFinishedAt() >= s.getCreatedAt(), s.toString());

    List<String> log = Files.readAllLines(logFile(pod, "hello"), StandardCharsets.UTF_8);
    assertEquals(1, log.size(), "CRI log: " + log);
    assertTrue(
        log.get(0)
            .matches(
                "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d+\\S* stdout F hello from krill"),
        "CRI log line: " + log.get(0));

    teardown(c, pod, id);
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void sleeper_statsExecAndStop(ContainerdVersion v) {
    CriContainerd c = cris.get(v);
    Pod pod = runPod(c, "sleeper");
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    String id = createAndStart(c, pod, containerConfig("sleeper", ref, "/sleep.wasm", "600"));
    awaitRunning(c, id);

    ContainerStats one =
        call(
            c,
            "ContainerStats",
            () ->
                c.cri()
                    .runtime()
                    .containerStats(ContainerStatsRequest.newBuilder().setContainerId(id).build())
                    .getStats());
    assertEquals(id, one.getAttributes().getId());
    assertTrue(one.hasCpu() && one.getCpu().hasUsageCoreNanoSeconds(), "cpu stats: " + one);
    assertTrue(one.hasMemory() && one.getMemory().hasWorkingSetBytes(), "memory stats: " + one);
    List<ContainerStats> all =
        call(
            c,
            "ListContainerStats",
            () ->
                c.cri()
                    .runtime()
                    .listContainerStats(ListContainerStatsRequest.getDefaultInstance())
                    .getStatsList());
    ContainerStats listed =
        all.stream()
            .filter(s -> s.getAttributes().getId().equals(id))
            .findFirst()
            .orElseThrow(
                () -> new AssertionError("sleeper missing from ListContainerStats: " + all));
    assertTrue(listed.hasCpu() && listed.hasMemory(), "listed stats: " + listed);

    ExecSyncResponse hello = exec(c, id, "/hello.wasm");
    assertEquals(0, hello.getExitCode(), "exec hello: " + hello);
    assertEquals(HELLO, hello.getStdout().toStringUtf8());
    // The documented probe convention: path#function runs another export of a module.
    ExecSyncResponse probe = exec(c, id, "/healthz.wasm#healthz");
    assertEquals(0, probe.getExitCode(), "exec healthz: " + probe);
    assertEquals("ok\n", probe.getStdout().toStringUtf8());
    assertEquals(2, exec(c, id, "/healthz.wasm").getExitCode(), "without #healthz, _start runs");
    assertEquals(3, exec(c, id, "/exit.wasm", "3").getExitCode());
    assertEquals(
        ContainerState.CONTAINER_RUNNING,
        status(c, id).getState(),
        "exec must not touch the container");

    // kubelet's log rotation: CRI reopens the file it copies the container's output into.
    call(
        c,
        "ReopenContainerLog",
        () ->
            c.cri()
                .runtime()
                .reopenContainerLog(
                    ReopenContainerLogRequest.newBuilder().setContainerId(id).build()));

    long t0 = System.nanoTime();
    call(
        c,
        "StopContainer",
        () ->
            c.cri()
                .runtime()
                .stopContainer(
                    StopContainerRequest.newBuilder().setContainerId(id).setTimeout(5).build()));
    ContainerStatus s = awaitExited(c, id);
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(s.getExitCode() == SIGTERM_EXIT || s.getExitCode() == SIGKILL_EXIT, s.toString());
    assertTrue(ms < 7_000, "StopContainer(timeout=5) took " + ms + " ms");

    teardown(c, pod, id);
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  /**
   * {@code kubectl exec} and {@code kubectl attach} through containerd's own CRI streaming server,
   * which runs the exec as a task exec of krill's shim with containerd's FIFOs (stdin too), and
   * attaches to the container's own stdio.
   */
  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void kubectlExecAndAttach_throughContainerdsStreamingServer(ContainerdVersion v)
      throws Exception {
    CriContainerd c = cris.get(v);
    try (KubeApiFront front = new KubeApiFront(c.cri())) {
      Pod pod = runPod(c, "streams");
      String ref = pull(c, c.push(CriContainerd.Image.PROGS));
      String id = createAndStart(c, pod, containerConfig("sleeper", ref, "/sleep.wasm", "600"));
      awaitRunning(c, id);
      String echo =
          createAndStart(
              c,
              pod,
              containerConfig("echo", ref, "/stdin.wasm").setStdin(true).setStdinOnce(true));
      awaitRunning(c, echo);
      front.addPod("sleeper", new KubeApiFront.PodEntry("app", id, false));
      front.addPod("echo", new KubeApiFront.PodEntry("app", echo, true));
      Path dir = c.newDir("kubectl");

      KubeApiFront.Kubectl hello =
          front.kubectl(dir, null, "exec", "sleeper", "-c", "app", "--", "/hello.wasm");
      assertEquals(0, hello.exit(), hello.stderr());
      assertEquals(HELLO, hello.out());
      KubeApiFront.Kubectl three =
          front.kubectl(dir, null, "exec", "sleeper", "-c", "app", "--", "/exit.wasm", "3");
      assertEquals(3, three.exit(), three.stderr());
      KubeApiFront.Kubectl cat =
          front.kubectl(
              dir,
              "through containerd\n".getBytes(StandardCharsets.UTF_8),
              "exec",
              "-i",
              "sleeper",
              "-c",
              "app",
              "--",
              "/stdin.wasm");
      assertEquals(0, cat.exit(), cat.stderr());
      assertEquals("through containerd\neof\n", cat.out());
      assertEquals(
          ContainerState.CONTAINER_RUNNING,
          status(c, id).getState(),
          "exec must not touch the container");

      KubeApiFront.Kubectl attach =
          front.kubectl(
              dir,
              "attached\n".getBytes(StandardCharsets.UTF_8),
              "attach",
              "-i",
              "echo",
              "-c",
              "app");
      assertEquals(0, attach.exit(), attach.stderr());
      assertTrue(
          attach.out().contains("attached\n") && attach.out().endsWith("eof\n"), attach.out());
      assertEquals(0, awaitExited(c, echo).getExitCode());

      teardown(c, pod, id, echo);
      assertEquals(List.of(), krillTasks(c));
      c.assertNoLeaks();
    }
  }

  private static ExecSyncResponse exec(CriContainerd c, String id, String... cmd) {
    return call(
        c,
        "ExecSync " + List.of(cmd),
        () ->
            c.cri()
                .runtime(Duration.ofSeconds(30))
                .execSync(
                    ExecSyncRequest.newBuilder()
                        .setContainerId(id)
                        .addAllCmd(List.of(cmd))
                        .setTimeout(10)
                        .build()));
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void memoryLimit_memhog_isOomKilled(ContainerdVersion v) {
    CriContainerd c = cris.get(v);
    Pod pod = runPod(c, "oom");
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    String id =
        createAndStart(
            c,
            pod,
            containerConfig("memhog", ref, "/memhog.wasm")
                .setLinux(
                    LinuxContainerConfig.newBuilder()
                        .setResources(
                            LinuxContainerResources.newBuilder().setMemoryLimitInBytes(32 * MIB))));
    ContainerStatus s = awaitExited(c, id);
    assertEquals(SIGKILL_EXIT, s.getExitCode(), s.toString());
    assertEquals("OOMKilled", s.getReason(), s.toString());
    teardown(c, pod, id);
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void missingModule_failsStartByName_thenRetryAndSiblingsRun(ContainerdVersion v) {
    CriContainerd c = cris.get(v);
    Pod pod = runPod(c, "errors");
    String missing = pull(c, c.push(CriContainerd.Image.MISSING));
    // CRI's CreateContainer only records the container; the shim sees it first at StartContainer.
    String broken = create(c, pod, containerConfig("broken", missing));
    StatusRuntimeException e =
        assertThrows(
            StatusRuntimeException.class,
            () ->
                c.cri()
                    .runtime()
                    .startContainer(
                        StartContainerRequest.newBuilder().setContainerId(broken).build()));
    String msg = String.valueOf(e.getStatus().getDescription());
    assertTrue(msg.contains("not found"), "StartContainer error: " + e.getStatus());
    assertTrue(msg.contains("/missing.wasm"), "the error names the module: " + e.getStatus());
    assertTrue(msg.contains(broken), "the error names the container: " + e.getStatus());
    ContainerStatus failed = status(c, broken);
    assertEquals(ContainerState.CONTAINER_EXITED, failed.getState(), failed.toString());
    assertTrue(failed.getMessage().contains("/missing.wasm"), "status message: " + failed);

    // kubelet retries a failed container under the next attempt number.
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    List<String> ids = new ArrayList<>();
    ids.add(
        createAndStart(
            c,
            pod,
            containerConfig("broken", ref)
                .setMetadata(ContainerMetadata.newBuilder().setName("broken").setAttempt(1))));
    for (String name : List.of("one", "two", "three")) {
      ids.add(createAndStart(c, pod, containerConfig(name, ref)));
    }
    for (String id : ids) {
      ContainerStatus s = awaitExited(c, id);
      assertEquals(0, s.getExitCode(), s.toString());
      assertEquals(
          pod.id(),
          c
              .cri()
              .runtime()
              .listContainers(ListContainersRequest.getDefaultInstance())
              .getContainersList()
              .stream()
              .filter(x -> x.getId().equals(id))
              .findFirst()
              .orElseThrow()
              .getPodSandboxId());
    }
    ids.add(broken);
    teardown(c, pod, ids.toArray(String[]::new));
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void twentyPodsAtOnce_allCompleteAndTearDown(ContainerdVersion v) throws Exception {
    CriContainerd c = cris.get(v);
    String ref = pull(c, c.push(CriContainerd.Image.HELLO));
    ExecutorService pool = Executors.newFixedThreadPool(20);
    try {
      List<Future<Pod>> started = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        String name = "pod" + i;
        started.add(
            pool.submit(
                () -> {
                  Pod pod = runPod(c, name);
                  String id = createAndStart(c, pod, containerConfig("hello", ref));
                  ContainerStatus s = awaitExited(c, id);
                  assertEquals(0, s.getExitCode(), name + ": " + s);
                  assertEquals("Completed", s.getReason(), name + ": " + s);
                  teardown(c, pod, id);
                  return pod;
                }));
      }
      List<String> pods = new ArrayList<>();
      for (Future<Pod> f : started) {
        pods.add(f.get().id());
      }
      assertEquals(20, pods.stream().distinct().count());
    } finally {
      pool.shutdownNow();
    }
    assertEquals(List.of(), krillTasks(c));
    c.assertNoLeaks();
  }

  /**
   * CRI builds every container's namespace paths from the sandbox's pid, so that pid must live in
   * the pod's network namespace (the one CNI gave the pod IP), not in the daemon's.
   */
  private static void assertSandboxPidIsInThePodNetwork(
      CriContainerd c, String sandboxId, String podIp) throws Exception {
    long pid = Tasks.list(c.containerd(), CriContainerd.NAMESPACE).get(sandboxId).pid();
    Path netns = Path.of("/proc/" + pid + "/ns/net");
    assertFalse(
        Files.isSameFile(netns, Path.of("/proc/self/ns/net")),
        "sandbox pid " + pid + " is in the host netns");
    Process ip =
        new ProcessBuilder(
                "nsenter", "-t", Long.toString(pid), "-n", "ip", "-4", "-o", "addr", "show")
            .redirectErrorStream(true)
            .start();
    String out = new String(ip.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertEquals(0, ip.waitFor(), out);
    assertTrue(
        out.contains(" " + podIp + "/"),
        "pod IP " + podIp + " not in the sandbox's netns:\n" + out);
  }
}
