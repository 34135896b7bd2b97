package io.krill.it.kubernetes;

import static io.krill.it.harness.Kubelet.*;

import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.ContainerMetadata;
import io.krill.cri.api.v1.ContainerState;
import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.RemoveContainerRequest;
import io.krill.cri.api.v1.RemovePodSandboxRequest;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.cri.api.v1.StopPodSandboxRequest;
import io.krill.it.harness.ContainerdVersion;
import io.krill.it.harness.CriConfig;
import io.krill.it.harness.CriContainerd;
import io.krill.it.harness.Host;
import io.krill.it.harness.OciImage;
import io.krill.it.harness.Pod;
import io.krill.it.harness.TestPrograms;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Not a test (surefire runs only *Test classes): the CRI half of the lifecycle throughput section
 * of {@code scripts/bench.sh}, run as {@code -Dtest=ThroughputBench}. Through containerd 1.6's CRI
 * plugin, as crictl would call it, for the runc and krill handlers: C clients in parallel, each
 * with one pod (RunPodSandbox once), each looping CreateContainer, StartContainer, ContainerStatus
 * until the container has exited, RemoveContainer of a hello world for a fixed time. Writes one
 * line per handler and client count to {@code krill.bench.throughput.out}: {@code cri HANDLER C
 * SECONDS OK ERRORS CYCLES_PER_S P50_MS P99_MS}; and where the CPU went, in ms per good cycle, to
 * {@code krill.bench.throughput.cpuOut}: {@code cri HANDLER C CLIENT CONTAINERD SPAWNED DAEMON
 * TOTAL} (this JVM; containerd's own threads; what containerd spawned: its reaped children, such as
 * each shim {@code start} and krill's launcher, and runc's shims with the runc runs they reaped;
 * krill's daemon).
 */
class ThroughputBench {
  private static final List<String> RUNTIMES = List.of("runc", CriConfig.HANDLER);

  /** How often a client asks for its container's state while it waits for the exit. */
  private static final int POLL_MS = Integer.getInteger("krill.bench.throughput.pollMs", 10);

  /** Linux's USER_HZ, the unit of the CPU times in /proc/PID/stat. */
  private static final long CLK_TCK = 100;

  @Test
  void lifecycleThroughput() throws Exception {
    int seconds = Integer.getInteger("krill.bench.throughput.seconds", 30);
    List<Integer> clients =
        List.of(System.getProperty("krill.bench.throughput.clients", "4,16").split(",")).stream()
            .map(s -> Integer.parseInt(s.trim()))
            .toList();
    Path out =
        Path.of(System.getProperty("krill.bench.throughput.out", "target/bench-throughput.tsv"));
    Path cpuOut =
        Path.of(
            System.getProperty("krill.bench.throughput.cpuOut", "target/bench-throughput-cpu.tsv"));
    // runc's sandbox asks for oom_score_adj -998, which a host that is itself a container may
    // refuse.
    try (CriContainerd c =
        CriContainerd.start(
            ContainerdVersion.V1_6,
            Map.of("KRILL_IDLE_TIMEOUT", "600"),
            "  restrict_oom_score_adj = true\n")) {
      images(c);
      // Warm-up: the images unpacked into each runtime's snapshots, krill's daemon spawned.
      for (String r : RUNTIMES) {
        Result w = measure(c, r, 1, 0);
        if (w.ok() != 1) {
          throw new AssertionError(r + ": the warm-up cycle failed: " + w.firstError());
        }
      }
      StringBuilder tsv = new StringBuilder();
      StringBuilder cpuTsv = new StringBuilder();
      for (int n : clients) {
        for (String r : RUNTIMES) {
          Result res = measure(c, r, n, seconds);
          String line =
              String.format(
                  Locale.ROOT,
                  "cri %s %d %.2f %d %d %.2f %.2f %.2f",
                  r,
                  n,
                  res.seconds(),
                  res.ok(),
                  res.errors(),
                  res.ok() / res.seconds(),
                  percentile(res.millis(), 50),
                  percentile(res.millis(), 99));
          System.out.println(line);
          if (res.firstError() != null) {
            System.out.println("  first error: " + res.firstError());
          }
          tsv.append(line).append('\n');
          double[] cpu = res.cpuMicros();
          double n1 = Math.max(1, res.ok()) * 1000.0;
          String cpuLine =
              String.format(
                  Locale.ROOT,
                  "cri %s %d %.1f %.1f %.1f %.1f %.1f",
                  r,
                  n,
                  cpu[0] / n1,
                  cpu[1] / n1,
                  cpu[2] / n1,
                  cpu[3] / n1,
                  (cpu[0] + cpu[1] + cpu[2] + cpu[3]) / n1);
          System.out.println(cpuLine);
          cpuTsv.append(cpuLine).append('\n');
        }
      }
      Files.createDirectories(out.toAbsolutePath().getParent());
      Files.writeString(out, tsv.toString());
      Files.createDirectories(cpuOut.toAbsolutePath().getParent());
      Files.writeString(cpuOut, cpuTsv.toString());
      // The warm shared daemon outlives its pods by design (KRILL_IDLE_TIMEOUT); stop it.
      c.containerd().krillDaemons().stream()
          .filter(Host.Proc::isJava)
          .forEach(p -> ProcessHandle.of(p.pid()).ifPresent(ProcessHandle::destroy));
      c.assertNoLeaks();
    }
  }

  /** cpuMicros: this JVM, containerd's own threads, what containerd spawned, krill's daemon. */
  private record Result(
      double seconds,
      int ok,
      int errors,
      List<Double> millis,
      String firstError,
      double[] cpuMicros) {}

  /**
   * {@code clients} pods of {@code runtime} and a thread each, looping cycles for {@code seconds}
   * (once if 0); the time is from the first cycle's start to the last one's end, pod start and
   * removal left out.
   */
  private static Result measure(CriContainerd c, String runtime, int clients, int seconds)
      throws InterruptedException {
    List<Pod> pods = new ArrayList<>();
    for (int i = 0; i < clients; i++) {
      pods.add(runPod(c, podConfig(c, "tp-" + runtime + "-" + i), runtime));
    }
    List<Double> millis = Collections.synchronizedList(new ArrayList<>());
    AtomicInteger ok = new AtomicInteger();
    AtomicInteger errors = new AtomicInteger();
    AtomicReference<String> firstError = new AtomicReference<>();
    long[] cpu0 = cpu(c);
    long t0 = System.nanoTime();
    long deadline = t0 + seconds * 1_000_000_000L;
    List<Thread> threads = new ArrayList<>();
    for (Pod pod : pods) {
      Thread t =
          new Thread(
              () -> {
                int attempt = 0;
                do {
                  long s = System.nanoTime();
                  String err = cycle(c, pod, runtime, attempt++);
                  if (err == null) {
                    millis.add((System.nanoTime() - s) / 1e6);
                    ok.incrementAndGet();
                  } else {
                    errors.incrementAndGet();
                    firstError.compareAndSet(null, err);
                  }
                } while (System.nanoTime() < deadline);
              },
              "client-" + pod.config().getMetadata().getName());
      t.start();
      threads.add(t);
    }
    for (Thread t : threads) {
      t.join();
    }
    double elapsed = (System.nanoTime() - t0) / 1e9;
    long[] cpu1 = cpu(c);
    double[] cpu = new double[cpu0.length];
    for (int i = 0; i < cpu.length; i++) {
      cpu[i] = cpu1[i] - cpu0[i];
    }
    for (Pod pod : pods) {
      c.cri()
          .runtime()
          .stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod.id()).build());
      c.cri()
          .runtime()
          .removePodSandbox(RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod.id()).build());
    }
    return new Result(elapsed, ok.get(), errors.get(), millis, firstError.get(), cpu);
  }

  /**
   * CPU time so far in µs: this JVM; containerd's own threads; its reaped children plus runc's
   * shims (which outlive their {@code start} and so are nobody's children here) with the runc runs
   * they reaped; krill's shared daemon. The shims and the daemon live as long as the pods, so the
   * same processes are read before and after a measurement.
   */
  private static long[] cpu(CriContainerd c) {
    long[] containerd = stat(c.containerd().pid());
    long shims = 0;
    for (Host.Proc p : Host.all()) {
      if (p.isProgram("containerd-shim-runc-v2")
          && p.mentions(c.containerd().socket().toString())) {
        long[] s = stat(p.pid());
        shims += s[0] + s[1];
      }
    }
    long daemon = 0;
    for (Host.Proc p : c.containerd().krillDaemons()) {
      if (p.isJava()) {
        daemon += stat(p.pid())[0];
      }
    }
    return new long[] {
      stat(ProcessHandle.current().pid())[0], containerd[0], containerd[1] + shims, daemon
    };
  }

  /** {own threads, reaped children} CPU time of {@code pid} in µs, from /proc; zeros if gone. */
  private static long[] stat(long pid) {
    try {
      String s = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      // after "pid (comm) ": state is field 3, so utime (14), stime, cutime, cstime are 11..14
      String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
      long own = Long.parseLong(f[11]) + Long.parseLong(f[12]);
      long children = Long.parseLong(f[13]) + Long.parseLong(f[14]);
      return new long[] {own * 1_000_000 / CLK_TCK, children * 1_000_000 / CLK_TCK};
    } catch (IOException | RuntimeException e) {
      return new long[] {0, 0};
    }
  }

  /**
   * One create-start-wait-remove cycle of hello in {@code pod}; null if it ran and exited 0, else
   * what went wrong (the container is removed either way).
   */
  private static String cycle(CriContainerd c, Pod pod, String runtime, int attempt) {
    String id = null;
    try {
      var cfg =
          containerConfig(
                  "hello", image(runtime), runtime.equals("runc") ? "/hello" : "/hello.wasm")
              .setMetadata(ContainerMetadata.newBuilder().setName("hello").setAttempt(attempt))
              .setLogPath("hello/" + attempt + ".log");
      id = create(c, pod, cfg);
      String cid = id;
      c.cri()
          .runtime()
          .startContainer(StartContainerRequest.newBuilder().setContainerId(cid).build());
      long deadline = System.nanoTime() + EXIT_TIMEOUT.toNanos();
      ContainerStatus s = status(c, id);
      while (s.getState() != ContainerState.CONTAINER_EXITED) {
        if (System.nanoTime() > deadline) {
          return id + " did not exit within " + EXIT_TIMEOUT.toSeconds() + " s: " + s.getState();
        }
        Host.sleep(POLL_MS);
        s = status(c, id);
      }
      if (s.getExitCode() != 0) {
        return id + " exited " + s.getExitCode() + ": " + s.getReason() + " " + s.getMessage();
      }
      return null;
    } catch (StatusRuntimeException | AssertionError e) {
      return runtime + " cycle " + attempt + ": " + e.getMessage();
    } finally {
      if (id != null) {
        try {
          c.cri()
              .runtime()
              .removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build());
        } catch (StatusRuntimeException e) {
          // counted through the cycle's own result; the leak check at the end reports a leftover
        }
      }
    }
  }

  private static double percentile(List<Double> values, int p) {
    if (values.isEmpty()) {
      return Double.NaN;
    }
    List<Double> s = values.stream().sorted().toList();
    return s.get(Math.max(0, (int) Math.ceil(p / 100.0 * s.size()) - 1));
  }

  /** runc needs a real pause binary and a native hello; krill runs hello.wasm. All imported. */
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
        OciImage.named(image("runc"))
            .layer(Map.of("/hello", TestPrograms.bytes("hello-native")))
            .entrypoint("/hello"),
        dir.resolve("hello-native.tar"));
    importImage(
        c,
        OciImage.named(image("krill"))
            .layer(Map.of("/hello.wasm", TestPrograms.bytes("hello.wasm")))
            .entrypoint("/hello.wasm"),
        dir.resolve("hello-wasm.tar"));
  }

  private static void importImage(CriContainerd c, OciImage image, Path tar) {
    c.containerd().importImage(CriContainerd.NAMESPACE, image.writeTarball(tar));
  }

  private static String image(String runtime) {
    return "krill.bench/hello" + (runtime.equals("runc") ? "-native" : "-wasm") + ":1";
  }
}
