package io.krill.cri.core;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.krill.cri.container.ContainerSecurity;
import io.krill.cri.container.Containers;
import io.krill.cri.container.NewContainer;
import io.krill.cri.image.ImageStore;
import io.krill.cri.image.StoredImage;
import io.krill.cri.pod.Pod;
import io.krill.cri.pod.PodFiles;
import io.krill.cri.pod.PodNetworks;
import io.krill.cri.pod.PodRequest;
import io.krill.cri.pod.PodStore;
import io.krill.cri.pod.Pods;
import io.krill.cri.pod.cni.CniNetwork;
import io.krill.runtime.KrillException;
import io.krill.runtime.MemoryBudget;
import io.krill.runtime.TaskManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * A {@link CriRuntime} wired as {@code krill cri} wires it, on the {@link FakeEngine}, in a temp
 * directory: one pulled image {@value #IMAGE} whose tree holds {@code /app.wat} (entrypoint {@code
 * /app.wat}, cmd {@code serve serving}), and no CNI config (so only host-network pods run).
 */
public final class CriFixture implements AutoCloseable {
  public static final String IMAGE = "registry.test/app:1";

  /** The image's repo digest: its name at its manifest digest. */
  public static final String REPO_DIGEST = "registry.test/app@sha256:" + "cd".repeat(32);

  /** Only to keep a broken build from hanging; never a performance bound. */
  public static final Duration PATIENCE = Duration.ofSeconds(30);

  public final Path root;
  public final ImageStore images;
  public final Containers containers;
  private final FakeEngine engine = new FakeEngine();
  public final TaskManager tasks;
  public final CriRuntime runtime;
  private final ScheduledExecutorService timer =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "test-timer");
            t.setDaemon(true);
            return t;
          });

  public CriFixture(Path root) throws IOException {
    this(root, MemoryBudget.unlimited());
  }

  /** With admission control: the caps of all guests must fit {@code budget}. */
  public CriFixture(Path root, MemoryBudget budget) throws IOException {
    this.root = root;
    Path store = Files.createDirectories(root.resolve("images"));
    Path tree = Files.createDirectories(store.resolve("rootfs/0123abcd"));
    Files.writeString(tree.resolve("app.wat"), "(module (func (export \"_start\")))");
    StoredImage image =
        new StoredImage(
            "sha256:" + "ab".repeat(32),
            List.of(IMAGE),
            List.of(REPO_DIGEST),
            "sha256:" + "cd".repeat(32),
            100,
            "rootfs/0123abcd",
            null,
            List.of("/app.wat"),
            List.of("serve", "serving"),
            List.of("PATH=/"),
            "/",
            "");
    new ObjectMapper().writeValue(store.resolve("images.json").toFile(), List.of(image));
    images = new ImageStore(store, Set.of());
    tasks =
        new TaskManager(engine, timer, 4242, 0, budget, null)
            .privateMountsUnder(root.resolve("mounts"));
    containers = new Containers(root.resolve("containers"), images, tasks);
    CniNetwork cni = new CniNetwork(root.resolve("cni/net.d"), root.resolve("cni/bin"));
    PodStore pods = new PodStore(root.resolve("pods"));
    runtime =
        new CriRuntime(
            new Pods(
                pods,
                new PodFiles(root.resolve("pods")),
                cni,
                new PodNetworks(cni, root.resolve("pods"))),
            containers);
  }

  /**
   * A second runtime over the same root, as a restarted daemon builds it (sharing this one's task
   * manager, which the test does not use).
   */
  public CriRuntime restartedRuntime() throws IOException {
    CniNetwork cni = new CniNetwork(root.resolve("cni/net.d"), root.resolve("cni/bin"));
    return new CriRuntime(
        new Pods(
            new PodStore(root.resolve("pods")),
            new PodFiles(root.resolve("pods")),
            cni,
            new PodNetworks(cni, root.resolve("pods"))),
        new Containers(root.resolve("containers"), images, tasks));
  }

  /** A host-network pod (no CNI needed) whose containers log under {@code <root>/logs}. */
  public PodRequest hostPod(String name) {
    return new PodRequest(
        name,
        "uid-" + name,
        "default",
        0,
        Map.of("app", name),
        Map.of(),
        true,
        root.resolve("logs").toString(),
        "",
        name,
        List.of(),
        null);
  }

  public Pod runHostPod(String name) {
    return runtime.runPod(hostPod(name));
  }

  /**
   * The image's own command (serve: prints "serving", then runs until stopped); log {@code
   * <name>.log}.
   */
  public NewContainer container(String podId, String name) {
    return container(podId, name, List.of(), false);
  }

  /** The image's own command, with a security context. */
  public NewContainer container(String podId, String name, ContainerSecurity security) {
    NewContainer c = container(podId, name);
    return new NewContainer(
        c.podId(),
        c.name(),
        c.attempt(),
        c.image(),
        c.command(),
        c.args(),
        c.workingDir(),
        c.env(),
        c.mounts(),
        c.labels(),
        c.annotations(),
        c.logDirectory(),
        c.logPath(),
        c.memoryLimitBytes(),
        c.stdin(),
        c.stdinOnce(),
        c.tty(),
        security);
  }

  public NewContainer container(String podId, String name, List<String> args, boolean tty) {
    return new NewContainer(
        podId,
        name,
        0,
        IMAGE,
        List.of(),
        args,
        "",
        List.of("A=1"),
        List.of(),
        Map.of("role", "test"),
        Map.of(),
        "",
        name + ".log",
        0,
        false,
        false,
        tty,
        null);
  }

  public static void eventually(String what, BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("gave up waiting until " + what);
      }
      Thread.sleep(10);
    }
  }

  public String log(String name) {
    try {
      Path p = root.resolve("logs").resolve(name + ".log");
      return Files.exists(p) ? Files.readString(p) : "";
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  @Override
  public void close() throws Exception {
    for (String id : tasks.ids()) {
      try {
        tasks.forceDelete(id);
      } catch (KrillException ignored) {
        // deleted by the test itself
      }
    }
    // The exits those deletes cause still reach Containers (which writes cri.json beside the
    // bundle)
    // on the core's event lanes: drain them before the test's directory goes.
    tasks.close();
    engine.awaitGuestsDone(PATIENCE.toMillis());
    timer.shutdownNow();
    timer.awaitTermination(PATIENCE.toSeconds(), TimeUnit.SECONDS);
  }
}
