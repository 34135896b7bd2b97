package io.krill.it.kubernetes;

import static io.krill.it.harness.Kubelet.*;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.krill.cri.api.v1.LinuxPodSandboxConfig;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriConfig;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.Host;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.Pod;
import io.krill.it.harness.PodCgroups;
import io.krill.it.harness.TestPrograms;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Not a test (surefire runs only *Test classes): the pod part of {@code scripts/bench.sh}, run as
 * {@code -Dtest=PodBench}. Through containerd 1.6's CRI, as kubelet calls it, for runc, krill
 * (shared daemon) and krill-isolated (a daemon per pod): cold pod start (RunPodSandbox,
 * CreateContainer, StartContainer until the first line of output is in the CRI log, of a program
 * that then stays running) and memory per pod with a sleeping container. Writes a Markdown section
 * to {@code krill.bench.pods.out}.
 */
class PodBench {
  /** The first line of {@code stream hello 1 0 600}, which then sleeps until it is stopped. */
  private static final String HELLO_LINE = "hello 00000001";

  private static final List<String> RUNTIMES =
      List.of("runc", CriConfig.HANDLER, CriConfig.ISOLATED_HANDLER);

  @Test
  void podStartAndMemory() throws Exception {
    int runs = Integer.getInteger("krill.bench.pods.runs", 10);
    int pods = Integer.getInteger("krill.bench.pods.n", 5);
    Path out = Path.of(System.getProperty("krill.bench.pods.out", "target/bench-pods.md"));
    // The shared daemon stays warm between pods, as on a node that runs wasm pods. runc's sandbox
    // asks for oom_score_adj -998, which a host that is itself a container may refuse.
    try (CriContainerd c =
            CriContainerd.start(
                ContainerdVersion.V1_6,
                Map.of("KRILL_IDLE_TIMEOUT", "600"),
                "  restrict_oom_score_adj = true\n");
        PodCgroups cgroups = new PodCgroups()) {
      images(c);
      Map<String, List<Double>> starts = new LinkedHashMap<>();
      RUNTIMES.forEach(r -> starts.put(r, new ArrayList<>()));
      // Warm-up: images unpacked once per runtime's snapshot, the shared daemon spawned (its cold
      // start is reported on its own), the page cache filled.
      Map<String, Double> first = new LinkedHashMap<>();
      for (String r : RUNTIMES) {
        first.put(r, startToFirstOutput(c, cgroups, r));
      }
      for (int i = 0; i < runs; i++) {
        for (String r : RUNTIMES) {
          starts.get(r).add(startToFirstOutput(c, cgroups, r));
        }
      }
      Map<String, long[]> memory = new LinkedHashMap<>();
      for (String r : RUNTIMES) {
        memory.put(r, memoryPerPod(c, cgroups, r, pods));
      }
      // Only the warm shared daemon is left (pod daemons left with their pods); stop it.
      sharedDaemon(c).ifPresent(p -> ProcessHandle.of(p.pid()).ifPresent(ProcessHandle::destroy));
      c.assertNoLeaks();
      String md = markdown(starts, first, memory, runs, pods);
      Files.createDirectories(out.toAbsolutePath().getParent());
      Files.writeString(out, md);
      System.out.println(md);
    }
  }

  /** ms from RunPodSandbox to the container's first line in its CRI log; then removes the pod. */
  private static double startToFirstOutput(CriContainerd c, PodCgroups cgroups, String runtime)
      throws IOException {
    PodSandboxConfig cfg = config(c, cgroups, "start");
    long t0 = System.nanoTime();
    Pod pod = runPod(c, cfg, runtime);
    long t1 = System.nanoTime();
    // A program that stays after its output: one that exits at once can lose its output to
    // containerd 1.6's FIFO race ("reading from a closed fifo") under runc.
    String id =
        createAndStart(
            c,
            pod,
            containerConfig(
                "hello",
                image(runtime, "stream"),
                runtime.equals("runc") ? "/stream" : "/stream.wasm",
                "hello",
                "1",
                "0",
                "600"));
    long t2 = System.nanoTime();
    Path log = logFile(pod, "hello");
    long deadline = t0 + 60_000_000_000L;
    // Polled every millisecond: spinning would take one of a small machine's cores from the
    // runtime.
    while (!hasLine(log)) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(
            String.format(
                "%s: no output in %s (RunPodSandbox %d ms, Create+Start %d ms)%n%s",
                runtime, log, (t1 - t0) / 1_000_000, (t2 - t1) / 1_000_000, c.logTail(80)));
      }
      Host.sleep(1);
    }
    double ms = (System.nanoTime() - t0) / 1e6;
    teardown(c, pod, id);
    return ms;
  }

  private static boolean hasLine(Path log) throws IOException {
    try {
      return new String(Files.readAllBytes(log), StandardCharsets.UTF_8).contains(HELLO_LINE);
    } catch (NoSuchFileException e) {
      return false;
    }
  }

  /**
   * {@code n} pods of {@code runtime}, each with one sleeping container; returns {RSS, PSS} in KiB
   * per pod of every process that exists for them: runc's shims (one per pod) and the pods'
   * processes; krill's pause processes plus the shared daemon's growth over its pod-less size;
   * krill-isolated's pause processes and pod daemons.
   */
  private static long[] memoryPerPod(CriContainerd c, PodCgroups cgroups, String runtime, int n) {
    if (runtime.equals(CriConfig.HANDLER)) {
      // The same pods once before, so the shared daemon's one-time growth (heap, compiled
      // sleep.wasm, code paths) is not charged to the pods measured.
      sleepingPods(c, cgroups, runtime, n).forEach(p -> teardown(c, p.pod(), p.container()));
    }
    Long sharedBefore = null;
    if (runtime.equals("krill")) {
      sharedBefore = sharedDaemon(c).map(p -> kib(p.pid(), "VmRSS")).orElse(null);
    }
    Long sharedPssBefore =
        runtime.equals("krill") ? sharedDaemon(c).map(p -> pss(p.pid())).orElse(null) : null;
    List<Sleeper> pods = sleepingPods(c, cgroups, runtime, n);
    List<Long> pids = new ArrayList<>(taskPids(c));
    long rss = 0;
    long pss = 0;
    switch (runtime) {
      case "runc" ->
          Host.all().stream()
              .filter(p -> p.isProgram("containerd-shim-runc-v2"))
              .filter(p -> p.mentions(c.containerd().socket().toString()))
              .forEach(p -> pids.add(p.pid()));
      case "krill" -> {
        long daemon = sharedDaemon(c).orElseThrow().pid();
        pids.remove(daemon);
        assertTrue(sharedBefore != null, "the shared daemon was warm before the pods");
        rss += kib(daemon, "VmRSS") - sharedBefore;
        pss += pss(daemon) - sharedPssBefore;
      }
      default ->
          c.containerd().krillDaemons().stream()
              .filter(p -> p.isJava() && p.argv().contains("-isolated"))
              .forEach(p -> pids.add(p.pid()));
    }
    for (long pid : pids.stream().distinct().toList()) {
      rss += kib(pid, "VmRSS");
      pss += pss(pid);
    }
    pods.forEach(p -> teardown(c, p.pod(), p.container()));
    return new long[] {rss / n, pss / n};
  }

  private record Sleeper(Pod pod, String container) {}

  /** {@code n} pods with a sleeping container each, running, then 3 s to settle. */
  private static List<Sleeper> sleepingPods(
      CriContainerd c, PodCgroups cgroups, String runtime, int n) {
    List<Sleeper> pods = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Pod pod = runPod(c, config(c, cgroups, "mem"), runtime);
      pods.add(
          new Sleeper(
              pod,
              createAndStart(
                  c,
                  pod,
                  containerConfig(
                      "sleeper",
                      image(runtime, "sleep"),
                      runtime.equals("runc") ? "/sleep" : "/sleep.wasm",
                      "3600"))));
    }
    pods.forEach(p -> awaitRunning(c, p.container()));
    Host.sleep(3000);
    return pods;
  }

  private static java.util.Optional<Host.Proc> sharedDaemon(CriContainerd c) {
    return c.containerd().krillDaemons().stream()
        .filter(p -> p.isJava() && !p.argv().contains("-isolated"))
        .findFirst();
  }

  /** The pids containerd reports for its tasks (a wasm container's is its daemon's). */
  private static List<Long> taskPids(CriContainerd c) {
    return c.containerd().ok("-n", CriContainerd.NAMESPACE, "tasks", "ls").stdoutLines().stream()
        .skip(1)
        .map(l -> l.trim().split("\\s+"))
        .filter(f -> f.length >= 2 && f[1].matches("\\d+") && !f[1].equals("0"))
        .map(f -> Long.parseLong(f[1]))
        .toList();
  }

  private static PodSandboxConfig config(CriContainerd c, PodCgroups cgroups, String name) {
    PodSandboxConfig base = podConfig(c, name);
    String uid = base.getMetadata().getUid();
    if (!PodCgroups.available() || Boolean.getBoolean("krill.bench.pods.noCgroups")) {
      return base;
    }
    cgroups.create(uid, 1L << 30);
    return base.toBuilder()
        .setLinux(LinuxPodSandboxConfig.newBuilder().setCgroupParent(cgroups.parent(uid)))
        .build();
  }

  /**
   * runc needs a real pause binary and native programs; krill runs wasm. All imported, so no pull
   * is timed.
   */
  private static void images(CriContainerd c) throws IOException {
    Path dir = c.newDir("bench-images");
    // The sandbox image under the name containerd's config gives it: a static sleep as pause.
    importImage(
        c,
        OciImage.named(CriContainerd.PAUSE_IMAGE)
            .layer(Map.of("/pause", TestPrograms.bytes("sleep-native")))
            .entrypoint("/pause", "2147483647"),
        dir.resolve("pause.tar"));
    importImage(
        c,
        OciImage.named(image("runc", "stream"))
            .layer(Map.of("/stream", TestPrograms.bytes("stream-native")))
            .entrypoint("/stream"),
        dir.resolve("stream-native.tar"));
    importImage(
        c,
        OciImage.named(image("runc", "sleep"))
            .layer(Map.of("/sleep", TestPrograms.bytes("sleep-native")))
            .entrypoint("/sleep"),
        dir.resolve("sleep-native.tar"));
    importImage(
        c,
        OciImage.named(image("krill", "stream"))
            .layer(Map.of("/stream.wasm", TestPrograms.bytes("stream.wasm")))
            .entrypoint("/stream.wasm"),
        dir.resolve("stream-wasm.tar"));
    importImage(
        c,
        OciImage.named(image("krill", "sleep"))
            .layer(Map.of("/sleep.wasm", TestPrograms.bytes("sleep.wasm")))
            .entrypoint("/sleep.wasm"),
        dir.resolve("sleep-wasm.tar"));
  }

  private static void importImage(CriContainerd c, OciImage image, Path tar) {
    c.containerd().importImage(CriContainerd.NAMESPACE, image.writeTarball(tar));
  }

  private static String image(String runtime, String program) {
    return "krill.bench/" + program + (runtime.equals("runc") ? "-native" : "-wasm") + ":1";
  }

  private static long kib(long pid, String field) {
    try {
      for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (l.startsWith(field + ":")) {
          return Long.parseLong(l.substring(field.length() + 1).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException e) {
      return 0;
    }
    return 0;
  }

  private static long pss(long pid) {
    try {
      for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "smaps_rollup"))) {
        if (l.startsWith("Pss:")) {
          return Long.parseLong(l.substring(4).trim().split("\\s+")[0]);
        }
      }
    } catch (IOException e) {
      return 0;
    }
    return 0;
  }

  private static String markdown(
      Map<String, List<Double>> starts,
      Map<String, Double> first,
      Map<String, long[]> memory,
      int runs,
      int pods) {
    StringBuilder b = new StringBuilder();
    b.append("| Runtime (handler) | pod start to first output, median (p90, min–max) | first run |")
        .append(" memory per pod, RSS (PSS) |\n|---|---:|---:|---:|\n");
    for (String r : RUNTIMES) {
      List<Double> s = starts.get(r).stream().sorted().toList();
      double median =
          s.size() % 2 == 1
              ? s.get(s.size() / 2)
              : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
      double p90 = s.get(Math.max(0, (int) Math.ceil(0.9 * s.size()) - 1));
      b.append(
          String.format(
              Locale.ROOT,
              "| %s | %.0f ms (%.0f, %.0f–%.0f) | %.0f ms | %.1f MiB (%.1f MiB) |%n",
              "`" + r + "`",
              median,
              p90,
              s.get(0),
              s.get(s.size() - 1),
              first.get(r),
              memory.get(r)[0] / 1024.0,
              memory.get(r)[1] / 1024.0));
    }
    b.append(
        String.format(
            Locale.ROOT,
            "%nn = %d starts per runtime, interleaved; memory with %d pods of one sleeping container each.%n",
            runs,
            pods));
    return b.toString();
  }
}
