package io.krill.it.kubernetes;

import static io.krill.it.harness.KrillTasks.HELLO;
import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.krill.cri.api.v1.ContainerState;
import io.krill.cri.api.v1.ExecSyncRequest;
import io.krill.cri.api.v1.ExecSyncResponse;
import io.krill.cri.api.v1.LinuxPodSandboxConfig;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.it.harness.ContainerdPerClass;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriConfig;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.Host;
import io.krill.it.harness.Pod;
import io.krill.it.harness.PodCgroups;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * RuntimeClass handler {@code krill-isolated} through containerd's CRI: each pod gets a krill
 * daemon of its own, in the pod's cgroup, under seccomp with two capabilities, gone with the pod; a
 * {@code krill} pod beside them keeps the shared daemon.
 */
class IsolatedRuntimeE2ETest {
  @RegisterExtension
  static final ContainerdPerClass<CriContainerd> cris = ContainerdPerClass.withCri();

  /** CAP_DAC_OVERRIDE and CAP_SYS_ADMIN, as /proc/PID/status prints them. */
  private static final String KEPT_CAPS = "0000000000200002";

  private static final long POD_MEMORY = 1L << 30;

  @ParameterizedTest(name = "{0}")
  @EnumSource(ContainerdVersion.class)
  void isolatedPods_ownConfinedDaemonsInTheirCgroups_goneWithThePod(ContainerdVersion v)
      throws Exception {
    assumeTrue(PodCgroups.available(), "needs the cgroup v1 memory hierarchy kubelet would use");
    CriContainerd c = cris.get(v);
    String ref = pull(c, c.push(CriContainerd.Image.PROGS));
    try (PodCgroups cgroups = new PodCgroups()) {
      Pod a = runIsolatedPod(c, cgroups, "iso-a");
      Pod b = runIsolatedPod(c, cgroups, "iso-b");
      Pod shared = runPod(c, "shared");
      String sleeperA = createAndStart(c, a, containerConfig("sleeper", ref, "/sleep.wasm", "600"));
      String sleeperB = createAndStart(c, b, containerConfig("sleeper", ref, "/sleep.wasm", "600"));
      String sleeperS =
          createAndStart(c, shared, containerConfig("sleeper", ref, "/sleep.wasm", "600"));
      awaitRunning(c, sleeperA);
      awaitRunning(c, sleeperB);
      awaitRunning(c, sleeperS);

      Map<String, Host.Proc> pods = podDaemons(c);
      assertEquals(2, pods.size(), "one daemon per isolated pod: " + pods);
      long pidA = pods.get(a.id()).pid();
      long pidB = pods.get(b.id()).pid();
      assertNotEquals(pidA, pidB);
      List<Host.Proc> sharedDaemons = sharedDaemons(c);
      assertEquals(1, sharedDaemons.size(), "the krill pod's shared daemon: " + sharedDaemons);
      long sharedPid = sharedDaemons.get(0).pid();

      for (Pod p : List.of(a, b)) {
        long pid = pods.get(p.id()).pid();
        String cgroup = p.config().getLinux().getCgroupParent();
        assertEquals(cgroup, memoryCgroup(pid), "daemon " + pid + " of pod " + p.id());
        assertTrue(PodCgroups.pidsUnder(cgroup).contains(pid), "listed in " + cgroup);
        Map<String, String> st = procStatus(pid);
        assertEquals("2", st.get("Seccomp"), "seccomp filter mode: " + st);
        assertEquals("1", st.get("NoNewPrivs"), st.toString());
        assertEquals(KEPT_CAPS, st.get("CapEff"), st.toString());
        assertEquals(KEPT_CAPS, st.get("CapBnd"), st.toString());
      }
      Map<String, String> sharedStatus = procStatus(sharedPid);
      assertEquals("0", sharedStatus.get("Seccomp"), "the shared daemon is not confined");
      assertFalse(
          PodCgroups.pidsUnder(a.config().getLinux().getCgroupParent()).contains(sharedPid));

      // The isolated pod's guest works: output to the CRI log, exec.
      String hello = createAndStart(c, a, containerConfig("hello", ref, "/hello.wasm"));
      assertEquals(0, awaitExited(c, hello).getExitCode());
      List<String> log = Files.readAllLines(logFile(a, "hello"), StandardCharsets.UTF_8);
      assertEquals(1, log.size(), "CRI log: " + log);
      assertTrue(log.get(0).endsWith(" stdout F hello from krill"), log.get(0));
      ExecSyncResponse exec = exec(c, sleeperA, "/hello.wasm");
      assertEquals(0, exec.getExitCode(), exec.toString());
      assertEquals(HELLO, exec.getStdout().toStringUtf8());
      assertEquals(pidA, podDaemons(c).get(a.id()).pid(), "the pod's containers share its daemon");

      // One pod's daemon dies: the other pods keep running.
      Host.run("kill", "-KILL", Long.toString(pidB));
      awaitGone(pidB);
      awaitExited(c, sleeperB);
      assertEquals(ContainerState.CONTAINER_RUNNING, status(c, sleeperA).getState());
      assertEquals(ContainerState.CONTAINER_RUNNING, status(c, sleeperS).getState());
      assertEquals(HELLO, exec(c, sleeperA, "/hello.wasm").getStdout().toStringUtf8());
      assertEquals(HELLO, exec(c, sleeperS, "/hello.wasm").getStdout().toStringUtf8());
      assertTrue(Host.alive(pidA) && Host.alive(sharedPid));

      // Pod A goes away as kubelet removes it: its daemon leaves with it, and leaves nothing.
      Path socketA = socketOf(pods.get(a.id()));
      Path runDirA = runDirOf(pods.get(a.id()));
      assertTrue(Files.exists(socketA) && Files.isDirectory(runDirA));
      long t0 = System.nanoTime();
      teardown(c, a, sleeperA, hello);
      awaitGone(pidA);
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertFalse(Files.exists(socketA), "socket left: " + socketA);
      assertFalse(Files.exists(runDirA), "run dir left: " + runDirA);
      assertTrue(Host.alive(sharedPid), "the shared daemon still serves its pod");
      assertEquals(ContainerState.CONTAINER_RUNNING, status(c, sleeperS).getState());
      System.out.println(v + ": pod daemon exited " + ms + " ms after StopPodSandbox began");

      Path socketB = socketOf(pods.get(b.id()));
      teardown(c, b, sleeperB);
      assertFalse(Files.exists(socketB), "a dead pod daemon's socket goes with its sandbox");
      teardown(c, shared, sleeperS);
      assertEquals(List.of(), krillTasks(c));
      c.assertNoLeaks();
    }
  }

  private static Pod runIsolatedPod(CriContainerd c, PodCgroups cgroups, String name) {
    PodSandboxConfig base = podConfig(c, name);
    String uid = base.getMetadata().getUid();
    cgroups.create(uid, POD_MEMORY);
    PodSandboxConfig cfg =
        base.toBuilder()
            .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(cgroups.parent(uid)))
            .build();
    return runPod(c, cfg, CriConfig.ISOLATED_HANDLER);
  }

  /** This containerd's pod daemons by the sandbox id they serve. */
  private static Map<String, Host.Proc> podDaemons(CriContainerd c) {
    return c.containerd().krillDaemons().stream()
        .filter(Host.Proc::isJava)
        .filter(p -> p.argv().contains("-isolated"))
        .collect(Collectors.toMap(p -> p.argv().get(p.argv().indexOf("-isolated") + 1), p -> p));
  }

  private static List<Host.Proc> sharedDaemons(CriContainerd c) {
    return c.containerd().krillDaemons().stream()
        .filter(Host.Proc::isJava)
        .filter(p -> !p.argv().contains("-isolated"))
        .toList();
  }

  private static Path socketOf(Host.Proc daemon) {
    return Path.of(daemon.argv().get(daemon.argv().indexOf("-socket") + 1));
  }

  private static Path runDirOf(Host.Proc daemon) {
    return Path.of(daemon.argv().get(daemon.argv().indexOf("-run-dir") + 1));
  }

  /** The memory hierarchy's line of /proc/PID/cgroup. */
  private static String memoryCgroup(long pid) throws IOException {
    Optional<String> line =
        Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup")).stream()
            .filter(l -> l.split(":", 3)[1].equals("memory"))
            .findFirst();
    return line.map(l -> l.split(":", 3)[2]).orElse("");
  }

  private static Map<String, String> procStatus(long pid) throws IOException {
    return Files.readAllLines(Path.of("/proc", Long.toString(pid), "status")).stream()
        .filter(l -> l.contains(":"))
        .collect(
            Collectors.toMap(
                l -> l.substring(0, l.indexOf(':')),
                l -> l.substring(l.indexOf(':') + 1).strip(),
                (x, y) -> x));
  }

  private static void awaitGone(long pid) {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (Host.alive(pid) && System.nanoTime() < deadline) {
      Host.sleep(50);
    }
    assertFalse(Host.alive(pid), "daemon " + pid + " still alive");
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
}
