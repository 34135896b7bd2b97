package io.krill.cri.container;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.krill.cri.image.ImageStore;
import io.krill.cri.image.StoredImage;
import io.krill.cri.io.ContainerIo;
import io.krill.cri.io.Fifo;
import io.krill.cri.io.FileTrees;
import io.krill.oci.RuntimeSpec;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.ExitStatus;
import io.krill.runtime.ImageModules;
import io.krill.runtime.KrillException;
import io.krill.runtime.Stdio;
import io.krill.runtime.TaskEvent;
import io.krill.runtime.TaskInfo;
import io.krill.runtime.TaskManager;
import io.krill.runtime.TaskSpec;
import io.krill.runtime.TaskState;
import io.krill.runtime.TaskStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * CRI containers on the runtime core (the container half of {@code CriRuntime}): bundles under
 * {@code <root>/containers/<id>}, tasks in the shared {@link TaskManager}, logs written by krill.
 * The CRI record (pod, image, times, exit) is kept beside the bundle so a restarted daemon still
 * reports the container; one that was running is then EXITED with reason {@code KrillRestarted}, as
 * its guest died with the old daemon.
 */
public final class Containers {
  private static final System.Logger LOG = System.getLogger("krill.cri");
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Path dir;
  private final ImageStore images;
  private final Map<String, CriContainer> containers = new ConcurrentHashMap<>();
  private final Map<String, ContainerIo> io = new ConcurrentHashMap<>();
  private final List<Consumer<ContainerEvent>> listeners = new CopyOnWriteArrayList<>();
  private final TaskManager tasks;

  public Containers(Path dir, ImageStore images, TaskManager tasks) throws IOException {
    this.dir = dir;
    this.images = images;
    this.tasks = tasks;
    Files.createDirectories(dir);
    try (var list = Files.list(dir)) {
      for (Path bundle : list.filter(Files::isDirectory).toList()) {
        Path record = bundle.resolve("cri.json");
        if (Files.exists(record)) {
          CriContainer c = JSON.readValue(record.toFile(), CriContainer.class);
          if (c.finishedAtNanos() == 0) {
            c =
                c.finished(
                    now(),
                    255,
                    "KrillRestarted",
                    "the krill cri daemon restarted while this container ran");
          }
          containers.put(c.id(), c);
        }
      }
    }
    tasks.subscribe(this::onEvent);
  }

  /** For wasm-layer images: the module is the image's layer blob, not a file in a rootfs. */
  public ImageModules imageModules() {
    return containerId -> {
      CriContainer c = containers.get(containerId);
      if (c == null) {
        return Optional.empty();
      }
      return images
          .find(c.imageId())
          .filter(i -> i.moduleLayer() != null)
          .map(
              i -> {
                try {
                  return new ImageModules.ImageModule(
                      c.image(), i.moduleLayer(), Files.readAllBytes(images.blob(i.moduleLayer())));
                } catch (IOException e) {
                  throw new KrillException(
                      ErrorCode.FAILED_PRECONDITION,
                      "container "
                          + containerId
                          + ": image layer "
                          + i.moduleLayer()
                          + " is missing from the store: "
                          + e.getMessage());
                }
              });
    };
  }

  public void onEvent(TaskEvent event) {
    if (event instanceof TaskEvent.Exited e && !e.isExec()) {
      ContainerIo cio = io.get(e.containerId());
      if (cio != null) {
        // Off the core's event thread: waking a pump may take a few milliseconds.
        Fifo.daemon("log-release-" + e.containerId(), cio::guestEnded);
      }
      CriContainer done =
          containers.computeIfPresent(
              e.containerId(), (id, c) -> persisted(finished(c, e.status())));
      if (done != null) {
        emit(done, ContainerEvent.Kind.STOPPED);
      }
    } else if (event instanceof TaskEvent.Started s) {
      CriContainer c = containers.get(s.containerId());
      if (c != null) {
        emit(c, ContainerEvent.Kind.STARTED);
      }
    }
  }

  /**
   * Listeners are called in event order (on the core's event thread, or on the caller's for created
   * and removed containers) and must not block. Returns the unsubscribe.
   */
  public Runnable subscribe(Consumer<ContainerEvent> listener) {
    listeners.add(listener);
    return () -> listeners.remove(listener);
  }

  private void emit(CriContainer c, ContainerEvent.Kind kind) {
    ContainerEvent e = new ContainerEvent(c.id(), c.podId(), kind, now());
    if (listeners.isEmpty()) {
      return;
    }
    for (var l : listeners) {
      try {
        l.accept(e);
      } catch (RuntimeException ex) {
        LOG.log(Level.WARNING, "container event listener: {0}", ex.getMessage());
      }
    }
  }

  /** So that the container's STOPPED, on the core's event thread, goes out before its DELETED. */
  private void awaitCoreEvents() {
    try {
      tasks.awaitEvents(5000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static CriContainer finished(CriContainer c, ExitStatus s) {
    // containerd leaves the message empty for an exit; the reason says Completed, Error or
    // OOMKilled.
    return c.finished(nanos(s.exitedAt()), s.code(), reason(s), "");
  }

  private static String reason(ExitStatus s) {
    if ("OOMKilled".equals(s.reason())) {
      return "OOMKilled";
    }
    return s.code() == 0 ? "Completed" : "Error";
  }

  /** Creates the container under {@code id} (its name is reserved by the caller). */
  public String create(String id, ContainerRequest req) {
    StoredImage image =
        images
            .find(req.image())
            .orElseThrow(
                () ->
                    new KrillException(
                        ErrorCode.NOT_FOUND, "image " + req.image() + " is not pulled"));
    Path bundle = dir.resolve(id);
    try {
      Files.createDirectories(bundle);
      Path root =
          image.rootfs() != null
              ? images.rootfs(image)
              : Files.createDirectories(bundle.resolve("rootfs"));
      Path etc =
          req.podFiles() != null
                  && ContainerEtc.build(req.podFiles(), bundle.resolve("etc"), root, req.mounts())
              ? bundle.resolve("etc")
              : null;
      // Under the pod's cgroup, so that it is charged with every container's CPU time.
      String cgroupsPath = tasks.podCgroupPath(req.podId()).map(p -> p + "/" + id).orElse(null);
      Files.write(
          bundle.resolve("config.json"),
          BundleWriter.configJson(req, image, root, etc, cgroupsPath));
      CriContainer c =
          new CriContainer(
              id,
              req.podId(),
              req.name(),
              req.attempt(),
              req.image(),
              image.id(),
              req.labels(),
              req.annotations(),
              req.logPath(),
              req.mounts(),
              now(),
              0,
              0,
              0,
              "",
              "",
              req.stdin(),
              req.stdinOnce(),
              req.resources().withSwapDefault(),
              req.configJson());
      persist(c);
      containers.put(id, c);
      ContainerIo cio = ContainerIo.open(id, bundle, req.logPath(), req.stdin());
      try {
        tasks.create(
            new TaskSpec(
                id,
                bundle,
                List.of(),
                new Stdio(cio.stdin(), cio.stdout(), cio.stderr(), false),
                TaskSpec.Kind.WASM,
                imageModules()));
      } catch (KrillException e) {
        forget(id, cio, bundle);
        throw refused(req, id, e);
      } catch (RuntimeException e) {
        forget(id, cio, bundle);
        throw e;
      }
      io.put(id, cio);
      emit(c, ContainerEvent.Kind.CREATED);
      return id;
    } catch (IOException e) {
      throw new UncheckedIOException(
          "container " + id + ": cannot write its bundle " + bundle + ": " + e.getMessage(), e);
    }
  }

  /** Undoes a create the core refused; a bundle that cannot go is logged, never the answer. */
  private void forget(String id, ContainerIo cio, Path bundle) {
    cio.abandon();
    containers.remove(id);
    try {
      FileTrees.deleteTree(bundle);
    } catch (IOException e) {
      LOG.log(
          Level.WARNING,
          "container {0}: cannot remove the bundle of a refused create, {1}: {2}",
          id,
          bundle,
          e.toString());
    }
  }

  /**
   * The core names the container by the id it would have had; kubelet never learns that id, so the
   * refusal names the container as kubelet asked for it.
   */
  private static KrillException refused(ContainerRequest req, String id, KrillException e) {
    String prefix = "container " + id + ": ";
    String why =
        e.getMessage().startsWith(prefix)
            ? e.getMessage().substring(prefix.length())
            : e.getMessage();
    return new KrillException(
        e.code(),
        "container \""
            + req.name()
            + "\" of pod "
            + req.podId()
            + " (image "
            + req.image()
            + "): "
            + why,
        e);
  }

  public void start(String id) {
    CriContainer c = get(id);
    // Taken before the guest runs: a guest that exits at once must not have finished before it
    // started.
    long at = now();
    tasks.start(c.id());
    containers.computeIfPresent(
        c.id(), (k, v) -> v.startedAtNanos() != 0 ? v : persisted(v.started(at)));
  }

  /**
   * SIGTERM, then SIGKILL once {@code timeoutSeconds} have passed; a stopped container stays
   * stopped, and one that does not exist is nothing to stop (StopContainer is idempotent: CRI, and
   * containerd, answer it without an error).
   */
  public void stop(String id, long timeoutSeconds) {
    Optional<CriContainer> found = find(id);
    if (found.isEmpty()) {
      return;
    }
    CriContainer c = current(found.get());
    if (!tasks.ids().contains(c.id()) || tasks.info(c.id()).state() != TaskState.RUNNING) {
      return;
    }
    try {
      tasks.kill(c.id(), timeoutSeconds <= 0 ? 9 : 15);
      tasks.waitFor(c.id()).get(Math.max(timeoutSeconds, 1), TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      tasks.kill(c.id(), 9);
      tasks.waitFor(c.id()).orTimeout(5, TimeUnit.SECONDS).exceptionally(t -> null).join();
    } catch (KrillException e) {
      // it exited between the check and the kill
    } catch (Exception e) {
      throw new KrillException(
          ErrorCode.INTERNAL, "container " + c.id() + ": stop: " + e.getMessage(), e);
    }
  }

  public void remove(String id) {
    Optional<CriContainer> found = find(id);
    if (found.isEmpty()) {
      return;
    }
    CriContainer c = found.get();
    if (tasks.ids().contains(c.id())) {
      tasks.forceDelete(c.id());
      awaitCoreEvents();
    }
    ContainerIo cio = io.remove(c.id());
    if (cio != null) {
      cio.abandon();
    }
    containers.remove(c.id());
    emit(c, ContainerEvent.Kind.DELETED);
    try {
      FileTrees.deleteTree(dir.resolve(c.id()));
    } catch (IOException e) {
      LOG.log(
          Level.WARNING, "container {0}: cannot remove its bundle: {1}", c.id(), e.getMessage());
    }
  }

  /**
   * Log rotation: kubelet has renamed the file; later output goes to a new file at the log path.
   */
  public void reopenLog(String id) {
    CriContainer c = get(id);
    ContainerIo cio = io.get(c.id());
    if (cio == null || !cio.logging() || state(c) != TaskState.RUNNING) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION, "container " + c.id() + " is not running");
    }
    try {
      cio.reopenLog();
    } catch (IOException e) {
      throw new UncheckedIOException("container " + c.id() + ": cannot reopen its log", e);
    }
  }

  /**
   * Only the memory cap is meaningful for a wasm guest, and it is fixed once the module is
   * compiled; the core refuses what it cannot apply. The rest is recorded for the status.
   */
  public void updateResources(String id, ContainerResources update) {
    CriContainer c = get(id);
    if (update.memoryLimitInBytes() > 0) {
      tasks.updateMemoryLimit(c.id(), update.memoryLimitInBytes());
    }
    containers.computeIfPresent(
        c.id(),
        (k, v) -> persisted(v.withResources(v.resources().updatedWith(update.withSwapDefault()))));
  }

  /**
   * CPU limits change live: the guests' cgroup is rewritten (see {@code TaskManager#updateCpu}).
   */
  public void updateCpu(String id, RuntimeSpec.Cpu cpu) {
    CriContainer c = get(id);
    if (cpu != null && !cpu.isEmpty()) {
      tasks.updateCpu(c.id(), cpu);
    }
  }

  public void stopPod(String podId) {
    containers.values().stream().filter(c -> c.podId().equals(podId)).forEach(c -> stop(c.id(), 0));
  }

  public void removePod(String podId) {
    containers.values().stream()
        .filter(c -> c.podId().equals(podId))
        .map(CriContainer::id)
        .toList()
        .forEach(this::remove);
  }

  public boolean imageInUse(StoredImage image) {
    return containers.values().stream().anyMatch(c -> c.imageId().equals(image.id()));
  }

  public List<CriContainer> list() {
    return containers.values().stream().map(this::current).toList();
  }

  /** CREATED, RUNNING or STOPPED; a container whose task is gone (restart) is STOPPED. */
  public TaskState state(CriContainer c) {
    if (!tasks.ids().contains(c.id())) {
      return TaskState.STOPPED;
    }
    TaskInfo info = tasks.info(c.id());
    return info.state() == TaskState.DELETED ? TaskState.STOPPED : info.state();
  }

  /**
   * The container with its exit filled in from the core: the task is STOPPED a moment before its
   * exit event reaches {@link #onEvent}, and a status read in between must not show an exited
   * container without a code.
   */
  public CriContainer current(CriContainer c) {
    if (c.finishedAtNanos() != 0 || !tasks.ids().contains(c.id())) {
      return c;
    }
    try {
      ExitStatus exit = tasks.info(c.id()).exit();
      return exit == null ? c : finished(c, exit);
    } catch (KrillException gone) {
      return c;
    }
  }

  public CriContainer get(String idOrPrefix) {
    return find(idOrPrefix)
        .map(this::current)
        .orElseThrow(
            () ->
                new KrillException(ErrorCode.NOT_FOUND, "container " + idOrPrefix + " not found"));
  }

  public Optional<CriContainer> find(String idOrPrefix) {
    CriContainer exact = containers.get(idOrPrefix);
    if (exact != null || idOrPrefix.isEmpty()) {
      return Optional.ofNullable(exact);
    }
    List<CriContainer> m =
        containers.values().stream().filter(c -> c.id().startsWith(idOrPrefix)).toList();
    if (m.size() > 1) {
      throw new KrillException(
          ErrorCode.INVALID_ARGUMENT, "container id prefix " + idOrPrefix + " is ambiguous");
    }
    return m.stream().findFirst();
  }

  /** The image's first repo digest, or its id when the store knows none (or it was removed). */
  public String imageRef(CriContainer c) {
    return images
        .find(c.imageId())
        .filter(i -> !i.repoDigests().isEmpty())
        .map(i -> i.repoDigests().get(0))
        .orElse(c.imageId());
  }

  /** The image's first tag, or the name the container was created with when it has none. */
  public String imageName(CriContainer c) {
    return images
        .find(c.imageId())
        .filter(i -> !i.repoTags().isEmpty())
        .map(i -> i.repoTags().get(0))
        .orElse(c.image());
  }

  /**
   * containerd's verbose container info (the {@code info} key of ContainerStatus): the sandbox, the
   * pid while it runs (the daemon's: guests are threads in it), the CreateContainer config and the
   * runtime spec krill wrote. krill has no snapshotter (the root is the image's unpacked tree), so
   * {@code snapshotKey} and {@code snapshotter} are empty, and no runtime options.
   */
  public String verboseInfo(CriContainer c) {
    var n = JSON.createObjectNode();
    n.put("sandboxID", c.podId());
    int pid = 0;
    try {
      if (state(c) == TaskState.RUNNING) {
        pid = tasks.info(c.id()).pid();
      }
    } catch (KrillException gone) {
      // exited meanwhile
    }
    n.put("pid", pid);
    n.put("removing", false);
    n.put("snapshotKey", "");
    n.put("snapshotter", "");
    n.put("runtimeType", "krill");
    n.putNull("runtimeOptions");
    try {
      n.set("config", c.configJson().isEmpty() ? null : JSON.readTree(c.configJson()));
      Path spec = bundle(c).resolve("config.json");
      n.set("runtimeSpec", Files.exists(spec) ? JSON.readTree(spec.toFile()) : null);
      return JSON.writeValueAsString(n);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "container " + c.id() + ": cannot read its config for verbose status: " + e.getMessage(),
          e);
    }
  }

  /** A new exec of {@code cmd} in the container; it runs when one of its strategies is called. */
  public ExecSession exec(CriContainer c, List<String> cmd) {
    return new ExecSession(tasks, c.id(), bundle(c), cmd);
  }

  /**
   * An attach to the container's output (and stdin); null once it is removed or after a restart.
   */
  public AttachSession attach(CriContainer c) {
    ContainerIo cio = io(c);
    return cio == null ? null : new AttachSession(tasks, c, cio);
  }

  /** CPU time and linear-memory bytes from the core. */
  /**
   * Makes (or adopts, after a restart) the pod's cgroup: its {@code cgroupParent} (kubelet's pod
   * cgroup) when set, else krill's own; the cgroups of its containers go under it.
   */
  public void createPodCgroup(String podId, String cgroupParent) {
    tasks.createPodCgroup(podId, cgroupParent);
  }

  /** CPU time charged to the pod's cgroup (all its containers' threads); empty: it has none. */
  public OptionalLong podCpuNanos(String podId) {
    return tasks.podCpuNanos(podId);
  }

  /** Removes what krill made of the pod's cgroup, once its containers are gone. */
  public void removePodCgroup(String podId) {
    tasks.removePodCgroup(podId);
  }

  public TaskStats stats(CriContainer c) {
    return tasks.stats(c.id());
  }

  /**
   * The container's stdio, or null once it is removed (or when the daemon restarted since its
   * start).
   */
  public ContainerIo io(CriContainer c) {
    return io.get(c.id());
  }

  Path bundle(CriContainer c) {
    return dir.resolve(c.id());
  }

  private CriContainer persisted(CriContainer c) {
    persist(c);
    return c;
  }

  private void persist(CriContainer c) {
    Path bundle = dir.resolve(c.id());
    try {
      Path tmp = Files.createTempFile(bundle, ".cri", ".tmp");
      JSON.writeValue(tmp.toFile(), c);
      Files.move(
          tmp,
          bundle.resolve("cri.json"),
          StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      LOG.log(
          Level.WARNING, "container {0}: cannot persist its record: {1}", c.id(), e.getMessage());
    }
  }

  public static long now() {
    return nanos(Instant.now());
  }

  static long nanos(Instant t) {
    return t.getEpochSecond() * 1_000_000_000L + t.getNano();
  }
}
