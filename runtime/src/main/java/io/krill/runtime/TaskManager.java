package io.krill.runtime;

import io.krill.engine.EngineException;
import io.krill.engine.Engines;
import io.krill.engine.Guest;
import io.krill.engine.GuestSpec;
import io.krill.engine.WasmEngine;
import io.krill.oci.RuntimeSpec;
import io.krill.os.CpuCgroup;
import io.krill.os.CpuCgroups;
import io.krill.os.CpuLimits;
import io.krill.os.Mounts;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * The protocol-free lifecycle core: create, start, exec, kill, wait, delete of wasm containers.
 * Each guest runs on its own thread ({@link GuestProcess}). Events are queued in lifecycle order
 * and delivered to the subscribers ({@link #subscribe}) by one thread, outside every lock of the
 * core.
 */
public final class TaskManager implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("krill.tasks");

  private final Engines engines;
  private final EventQueue events = new EventQueue();
  private final ScheduledExecutorService timer;
  private final int pid;
  private final long defaultMemoryLimit;
  private final MemoryBudget memoryBudget;
  private final Path sandboxHelper;
  private final Map<String, Task> tasks = new ConcurrentHashMap<>();
  private final Set<String> creating = new HashSet<>();
  private final Map<String, CpuCgroup> podCgroups = new ConcurrentHashMap<>();

  /** Each container's listening sockets ({@link Listeners}), closed when it is deleted. */
  private final Map<String, List<ServerSocketChannel>> listeners = new ConcurrentHashMap<>();

  /** What serves containers of the instance-per-request shape; null: this daemon does not. */
  private volatile RequestServers requestServers;

  private volatile CpuCgroups cpuCgroups = CpuCgroups.none("not asked for");
  private volatile String cgroupParent = "/krill";

  /** Where the cgroup directories this daemon made are kept for the next one; null: nowhere. */
  private volatile CgroupRecord cgroupRecord;

  private volatile Path privateMounts = Path.of("/run/krill/mounts");

  /**
   * @param engines the engines wasm guests run on: a container's {@link Engines#ANNOTATION}
   *     annotation picks one, else the daemon's default (this class closes none)
   * @param pid the pid reported for wasm processes (the daemon's own: guests are threads in it)
   * @param defaultMemoryLimit linear-memory cap for containers that set none; 0 = none
   * @param memoryBudget what the caps of all live guests together may reach; a guest that would
   *     overrun it is refused at Create or Exec
   * @param sandboxHelper the launcher binary, whose {@code pause} command stands in for a pod
   *     sandbox
   */
  public TaskManager(
      Engines engines,
      ScheduledExecutorService timer,
      int pid,
      long defaultMemoryLimit,
      MemoryBudget memoryBudget,
      Path sandboxHelper) {
    this.engines = engines;
    this.timer = timer;
    this.pid = pid;
    this.defaultMemoryLimit = defaultMemoryLimit;
    this.memoryBudget = memoryBudget;
    this.sandboxHelper = sandboxHelper;
  }

  /** One engine for every container. */
  public TaskManager(
      WasmEngine engine,
      ScheduledExecutorService timer,
      int pid,
      long defaultMemoryLimit,
      MemoryBudget memoryBudget,
      Path sandboxHelper) {
    this(Engines.only(engine), timer, pid, defaultMemoryLimit, memoryBudget, sandboxHelper);
  }

  /** Without admission control ({@link MemoryBudget#unlimited()}). */
  public TaskManager(
      WasmEngine engine,
      ScheduledExecutorService timer,
      int pid,
      long defaultMemoryLimit,
      Path sandboxHelper) {
    this(engine, timer, pid, defaultMemoryLimit, MemoryBudget.unlimited(), sandboxHelper);
  }

  public TaskManager(
      WasmEngine engine, ScheduledExecutorService timer, int pid, long defaultMemoryLimit) {
    this(engine, timer, pid, defaultMemoryLimit, null);
  }

  /**
   * Enforces containers' CPU limits ({@code linux.resources.cpu}) through this host's cgroup v1 cpu
   * and cpuacct hierarchies: each wasm container gets a cgroup (at its spec's {@code
   * linux.cgroupsPath}, else {@code <fallbackParent>/<id>}) that its guests' threads join. Logs
   * once when the host has none (cgroup v2 only). Call before the first Create.
   */
  public TaskManager enforcingCpuLimits(String fallbackParent) {
    return withCpuCgroups(CpuCgroups.detect(), fallbackParent);
  }

  /** {@link #enforcingCpuLimits} with the given hierarchies. */
  public TaskManager withCpuCgroups(CpuCgroups cgroups, String fallbackParent) {
    this.cpuCgroups = cgroups;
    this.cgroupParent = fallbackParent;
    cgroups
        .unavailableReason()
        .ifPresent(
            why ->
                LOG.log(
                    Level.WARNING,
                    "CPU limits (linux.resources.cpu) are not enforced on this host: {0}",
                    why));
    return this;
  }

  /**
   * Keeps the cgroup directories this daemon makes (containers', pods', and the parents their
   * creation made, such as containerd's {@code /<namespace>}) in {@code file}, and first removes
   * those the previous daemon on the same file left: a daemon that was killed leaves its
   * containers' cgroups, as their threads died with it. Call after {@link #withCpuCgroups}, before
   * the first Create, and only while no other daemon uses {@code file} (it holds the socket).
   */
  public TaskManager recordingCgroupsIn(Path file) {
    List<Path> roots = cpuCgroups.roots();
    if (!roots.isEmpty()) {
      cgroupRecord = CgroupRecord.takeOver(file, roots);
    }
    return this;
  }

  /**
   * Removes the cgroup directories this daemon made that are still there and empty (call at exit,
   * once the tasks are gone); those in use stay recorded for the next daemon ({@link
   * #recordingCgroupsIn}).
   */
  public void removeCgroupsLeft() {
    CgroupRecord record = cgroupRecord;
    if (record == null) {
      return;
    }
    List<Path> left = record.removeEmpty();
    if (!left.isEmpty()) {
      LOG.log(
          Level.INFO,
          "cgroups still in use at exit, left for the next daemon to remove: {0}",
          left);
    }
  }

  private void recordMade(CpuCgroup made) {
    CgroupRecord record = cgroupRecord;
    if (record != null) {
      record.add(made.made());
    }
  }

  /** Drops from the record what of {@code made} is gone (null: of every recorded directory). */
  private void forgetRemovedCgroups(List<Path> made) {
    CgroupRecord record = cgroupRecord;
    if (record == null) {
      return;
    }
    if (made == null) {
      record.forgetRemoved();
    } else {
      record.forgetRemoved(made);
    }
  }

  /**
   * Where the private copies of {@code rprivate} bind mounts go ({@code <dir>/<container>/<n>}; see
   * {@link PrivateMounts}); one directory per daemon, outside any bundle. What a previous daemon
   * left there is detached now, as none of its guests outlived it.
   */
  public TaskManager privateMountsUnder(Path dir) {
    this.privateMounts = dir;
    PrivateMounts.sweep(dir);
    return this;
  }

  /**
   * Adds a subscriber: from now on it gets every event, in lifecycle order, on the core's event
   * thread and never under a lock of the core.
   */
  public void subscribe(EventSink sink) {
    events.subscribe(sink);
  }

  /**
   * Waits (at most {@code timeoutMillis}) until every event published so far has reached the
   * subscribers.
   */
  public void awaitEvents(long timeoutMillis) throws InterruptedException {
    events.awaitDelivered(timeoutMillis);
  }

  /**
   * Delivers the events still queued (bounded) and stops the event thread. Tasks are left as they
   * are.
   */
  @Override
  public void close() {
    events.close();
  }

  public int pid() {
    return pid;
  }

  public boolean isEmpty() {
    synchronized (creating) {
      return tasks.isEmpty() && creating.isEmpty();
    }
  }

  public int size() {
    return tasks.size();
  }

  public MemoryBudget memoryBudget() {
    return memoryBudget;
  }

  /**
   * Mounts the rootfs, finds and compiles the module; the task is then CREATED. Returns its pid.
   */
  public int create(TaskSpec spec) {
    String id = spec.id();
    synchronized (creating) {
      if (tasks.containsKey(id) || !creating.add(id)) {
        throw new KrillException(
            ErrorCode.ALREADY_EXISTS, "container " + id + " already exists in this krill daemon");
      }
    }
    try {
      RuntimeSpec runtimeSpec;
      try {
        runtimeSpec = RuntimeSpec.read(spec.bundle());
      } catch (IOException e) {
        throw ModuleLoader.invalid(id, "cannot read the bundle's config.json: " + e.getMessage());
      }
      Path rootfs = runtimeSpec.rootPath(spec.bundle());
      // Reserved before the module is compiled; given back when the guest is freed.
      MemoryBudget.Reservation memory = null;
      CpuCgroup cpu = null;
      boolean mounted = false;
      PrivateMounts.Made copies = null;
      List<ServerSocketChannel> listening = List.of();
      try {
        mounted = mountRootfs(spec, rootfs);
        if (spec.kind() != TaskSpec.Kind.POD_SANDBOX) {
          copies = PrivateMounts.make(id, spec.bundle(), runtimeSpec, privateMounts);
          runtimeSpec = copies.spec();
        }
        long limit = runtimeSpec.memoryLimit().orElse(defaultMemoryLimit);
        Guest guest;
        int processPid;
        String engineName = null;
        Stdio.Files files = spec.stdio().files(id);
        GuestProcess init;
        if (spec.kind() == TaskSpec.Kind.POD_SANDBOX) {
          SandboxGuest sandbox = startSandbox(id, runtimeSpec);
          guest = sandbox;
          processPid = sandbox.pid();
          // The sandbox's process, not a thread: its cgroup is for it alone.
          init = process(id, id, processPid, guest, spec.stdio(), files, memory, null);
          cpu = sandboxCgroup(id, runtimeSpec, sandbox);
        } else {
          ModuleLoader.Found module = ModuleLoader.find(id, runtimeSpec, rootfs, spec.images());
          limit = capOf(runtimeSpec, module);
          memory = admit(id, "it", limit);
          KrillToml.Served served = KrillToml.served(id, runtimeSpec.annotations(), rootfs);
          WasmEngine engine = engine(id, runtimeSpec, served.isWagi());
          if (served.isWagi()) {
            // The task keeps the merged settings: Kill drains it as an instance-per-request one.
            runtimeSpec = runtimeSpec.withAnnotations(served.annotations());
            String listenFrom = served.source(RequestServers.ANNOTATION);
            listening = Listeners.open(id, runtimeSpec, RequestServers.ANNOTATION, listenFrom);
            if (listening.size() != 1) {
              throw ModuleLoader.invalid(
                  id, listenFrom + " must name one address, as tcp://HOST:PORT");
            }
            guest =
                RequestRoutes.create(
                    id,
                    runtimeSpec,
                    served.source(RequestServers.ROUTES_ANNOTATION),
                    spec.bundle(),
                    rootfs,
                    files,
                    module,
                    limit,
                    engine,
                    listening.get(0),
                    requestServers);
          } else {
            listening = Listeners.open(id, runtimeSpec);
            guest =
                prepare(
                    engine,
                    ModuleLoader.guestSpec(
                            id, spec.bundle(), files, runtimeSpec, rootfs, module, limit)
                        .withListeners(listening));
          }
          engineName = engine.name();
          processPid = pid;
          cpu = cpuCgroup(id, runtimeSpec);
          init = process(id, id, processPid, guest, spec.stdio(), files, memory, cpu);
        }
        Task task =
            new Task(
                spec,
                runtimeSpec,
                rootfs,
                mounted,
                copies == null ? null : copies.dir(),
                limit,
                init,
                cpu);
        Stdio io = spec.stdio();
        // Published before the task is visible, so no Start can overtake /tasks/create.
        events.publish(
            new TaskEvent.Created(
                id,
                spec.bundle(),
                spec.rootfs(),
                io.stdin(),
                io.stdout(),
                io.stderr(),
                io.terminal(),
                processPid));
        if (!listening.isEmpty()) {
          listeners.put(id, listening);
        }
        tasks.put(id, task);
        if (engineName == null) {
          LOG.log(Level.INFO, "container {0}: created", id);
        } else {
          LOG.log(Level.INFO, "container {0}: created on engine {1}", id, engineName);
        }
        return processPid;
      } catch (RuntimeException e) {
        Listeners.close(listening);
        if (memory != null) {
          memory.close();
        }
        if (cpu != null) {
          removeCgroup(id, cpu);
        }
        if (copies != null) {
          PrivateMounts.release(id, copies.dir());
        }
        if (mounted) {
          unmountQuietly(id, rootfs);
        }
        throw e;
      }
    } finally {
      synchronized (creating) {
        creating.remove(id);
      }
    }
  }

  /**
   * The container's CPU cgroup with its spec's limits, or null where limits cannot be enforced
   * (said once at start for the host, here for the container).
   */
  private CpuCgroup cpuCgroup(String id, RuntimeSpec spec) {
    CpuCgroups cgroups = cpuCgroups;
    if (!cgroups.enforced()) {
      return null;
    }
    String path = cgroupPath(id, spec);
    try {
      CpuCgroup made = cgroups.create(path, cpuLimits(spec.cpu().orElse(null)));
      recordMade(made);
      return made;
    } catch (IOException | RuntimeException e) {
      LOG.log(
          Level.WARNING,
          "container {0}: CPU limits not enforced: {1}; check that the daemon runs as root with"
              + " /sys/fs/cgroup writable and that the limits are valid (period 1000-1000000 us,"
              + " quota at least 1000 us)",
          id,
          e.getMessage());
      return null;
    }
  }

  /**
   * A pod sandbox's cgroup, at its spec's {@code linux.cgroupsPath} (containerd's is {@code
   * <cgroup_parent>/<sandbox id>}), in every v1 hierarchy the host mounts of cpu, cpuacct, memory
   * and pids, with the sandbox's process in it: what containerd reads a pod's statistics from (the
   * pod's cgroup, whose children are the sandbox's and the containers'). Null where the host has no
   * v1 cpu hierarchy, or when it cannot be made (the pod runs, and the log says why).
   */
  private CpuCgroup sandboxCgroup(String id, RuntimeSpec spec, SandboxGuest sandbox) {
    CpuCgroups cgroups = cpuCgroups;
    if (!cgroups.enforced()) {
      return null;
    }
    String path = cgroupPath(id, spec);
    CpuCgroup made = null;
    try {
      made = cgroups.createForProcess(path);
      recordMade(made);
      made.addProcess(sandbox.pid());
      return made;
    } catch (IOException | RuntimeException e) {
      LOG.log(
          Level.WARNING,
          "container {0}: the pod sandbox has no cgroup, so the pod''s statistics miss its"
              + " process: {1}; check that the daemon runs as root with /sys/fs/cgroup writable",
          id,
          e.getMessage());
      if (made != null) {
        removeCgroup(id, made);
      }
      return null;
    }
  }

  /** The container's cgroup path: its spec's {@code linux.cgroupsPath}, else krill's own. */
  private String cgroupPath(String id, RuntimeSpec spec) {
    String wanted = spec.cgroupsPath().orElse(null);
    return CpuCgroups.pathFor(wanted, cgroupParent, id)
        .orElseGet(
            () -> {
              String fallback = CpuCgroups.pathFor(null, cgroupParent, id).orElseThrow();
              LOG.log(
                  Level.INFO,
                  "container {0}: linux.cgroupsPath {1} is neither a cgroupfs path nor"
                      + " systemd''s slice:prefix:name; using cgroup {2}",
                  id,
                  wanted,
                  fallback);
              return fallback;
            });
  }

  /**
   * Makes (or adopts) the cgroup of a pod that has no sandbox process (krill cri's pods; a
   * containerd pod's sandbox task gets one at create): at {@code parent}, kubelet's pod cgroup,
   * when set, else at {@code <fallback parent>/<podId>}, in the cpu and cpuacct hierarchies. Its
   * containers' cgroups go under it ({@link #podCgroupPath}), so it is charged with all their
   * threads' CPU time. Empty where the host has no v1 cpu hierarchy, or when it cannot be made (the
   * pod runs, and the log says why).
   */
  public Optional<String> createPodCgroup(String podId, String parent) {
    CpuCgroups cgroups = cpuCgroups;
    if (!cgroups.enforced()) {
      return Optional.empty();
    }
    String path = CpuCgroups.podPathFor(parent, cgroupParent, podId);
    if (parent != null && !parent.isBlank() && !path.equals(parent)) {
      LOG.log(Level.INFO, "pod {0}: cgroup parent {1} is cgroup {2}", podId, parent, path);
    }
    try {
      CpuCgroup made = cgroups.create(path, CpuLimits.NONE);
      recordMade(made);
      CpuCgroup old = podCgroups.put(podId, made);
      if (old != null && !old.path().equals(path)) {
        old.removeMade();
        forgetRemovedCgroups(old.made());
      }
      return Optional.of(path);
    } catch (IOException | RuntimeException e) {
      LOG.log(
          Level.WARNING,
          "pod {0}: no pod cgroup, so its statistics add up its containers'' instead: {1}; check"
              + " that the daemon runs as root with /sys/fs/cgroup writable",
          podId,
          e.getMessage());
      return Optional.empty();
    }
  }

  /** The pod's cgroup path ({@link #createPodCgroup}), under which its containers' go. */
  public Optional<String> podCgroupPath(String podId) {
    return Optional.ofNullable(podCgroups.get(podId)).map(CpuCgroup::path);
  }

  /** CPU time charged to the pod's cgroup: every thread of each of its containers. */
  public OptionalLong podCpuNanos(String podId) {
    CpuCgroup g = podCgroups.get(podId);
    return g == null ? OptionalLong.empty() : g.usageNanos();
  }

  /**
   * Removes the pod's cgroup, once its containers are deleted: the cgroups an earlier daemon left
   * under it (its containers' whose tasks died with it), then the directories krill made, not a pod
   * cgroup kubelet made (kubelet removes its own). One under krill's own parent is krill's whoever
   * made it (an earlier daemon, before a restart).
   */
  public void removePodCgroup(String podId) {
    CpuCgroup g = podCgroups.remove(podId);
    if (g == null) {
      return;
    }
    g.removeEmptyChildren();
    if (g.path().startsWith(cgroupParent.endsWith("/") ? cgroupParent : cgroupParent + "/")) {
      removeCgroup(podId, g, null);
      return;
    }
    List<Path> left = g.removeMade();
    // also what removeEmptyChildren took: an earlier daemon's containers' cgroups
    forgetRemovedCgroups(null);
    if (!left.isEmpty()) {
      LOG.log(
          Level.WARNING,
          "pod {0}: cgroup {1} is still in use ({2}); remove it by hand with rmdir once empty",
          podId,
          g.path(),
          left);
    }
  }

  private static CpuLimits cpuLimits(RuntimeSpec.Cpu cpu) {
    return cpu == null ? CpuLimits.NONE : new CpuLimits(cpu.quota(), cpu.period(), cpu.shares());
  }

  private void removeCgroup(String id, CpuCgroup cpu) {
    removeCgroup(id, cpu, cpu.made());
  }

  /** Removes the cgroup, then forgets what of {@code candidates} went (null: all that went). */
  private void removeCgroup(String id, CpuCgroup cpu, List<Path> candidates) {
    try {
      cpu.remove();
    } catch (IOException e) {
      LOG.log(
          Level.WARNING, "container {0}: {1}; remove it by hand with rmdir", id, e.getMessage());
    } finally {
      forgetRemovedCgroups(candidates);
    }
  }

  /**
   * Serves containers that ask for an instance per request ({@value RequestServers#ANNOTATION})
   * with these servers; without them such a container is refused at Create.
   */
  public TaskManager servingRequestsWith(RequestServers servers) {
    this.requestServers = servers;
    return this;
  }

  /**
   * The engine a server runs on unless its annotation names one. A listening guest's ({@value
   * Listeners#ANNOTATION}) WASI calls never end, and wasmtime-java keeps every call's arguments on
   * the heap until the guest's run ends (see engine-wasmtime's HostCallBudget); Chicory keeps
   * nothing per call. An instance per request ({@value RequestServers#ANNOTATION}) is mostly
   * instantiation and host calls, which cost Chicory a fraction of what they cost through
   * wasmtime-java's JNI. Both serve several times the requests per second on Chicory (make bench,
   * section k).
   */
  static final String SERVER_ENGINE = "chicory";

  /**
   * The container's engine: its annotation's, else Chicory for a server (a listening guest, an
   * instance per request), else the daemon's default.
   */
  private WasmEngine engine(String id, RuntimeSpec spec, boolean wagi) {
    String listen = spec.annotations().get(Listeners.ANNOTATION);
    boolean server = wagi || listen != null && !listen.isBlank();
    try {
      return engines.select(id, spec.annotations(), server ? SERVER_ENGINE : null);
    } catch (EngineException e) {
      throw new KrillException(ErrorCode.INVALID_ARGUMENT, e.getMessage(), e);
    }
  }

  /**
   * The engine's refusals as the core's errors: a module the engine rejects is the user's to fix.
   */
  private Guest prepare(WasmEngine engine, GuestSpec guestSpec) {
    try {
      return engine.prepare(guestSpec);
    } catch (EngineException e) {
      throw new KrillException(ErrorCode.of(e.kind()), e.getMessage(), e);
    }
  }

  /**
   * A guest's linear-memory cap: the container's memory limit, else the daemon's default. A text
   * module cannot be capped (see {@link ModuleLoader#guestSpec}), so without a limit of its own it
   * runs uncapped, and reserves what an uncapped guest can reach.
   */
  private long capOf(RuntimeSpec spec, ModuleLoader.Found module) {
    return spec.memoryLimit().orElse(module.binary() == null ? 0 : defaultMemoryLimit);
  }

  /** Reserves a guest's cap in the budget, or refuses it (and says so in the log). */
  private MemoryBudget.Reservation admit(String id, String what, long limit) {
    try {
      return memoryBudget.reserve(id, what, limit);
    } catch (KrillException e) {
      LOG.log(Level.WARNING, "{0}", e.getMessage());
      throw e;
    }
  }

  private GuestProcess process(
      String id,
      String processId,
      int processPid,
      Guest guest,
      Stdio stdio,
      Stdio.Files files,
      MemoryBudget.Reservation memory,
      CpuCgroup cpu) {
    return new GuestProcess(
        id,
        processId,
        processPid,
        guest,
        stdio.stdin(),
        pathString(files.stdout()),
        pathString(files.stderr()),
        stdio.terminal(),
        events,
        timer,
        memory,
        cpu);
  }

  private static String pathString(Path p) {
    return p == null ? null : p.toString();
  }

  private SandboxGuest startSandbox(String id, RuntimeSpec spec) {
    if (sandboxHelper == null) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION,
          "container "
              + id
              + ": pod sandboxes need the krill launcher binary, which this daemon was started without");
    }
    return SandboxGuest.start(
        id, sandboxHelper, spec.namespacePath("network").orElse(null), spec.hostname());
  }

  private boolean mountRootfs(TaskSpec spec, Path rootfs) {
    if (spec.rootfs().isEmpty()) {
      return false;
    }
    int done = 0;
    try {
      for (TaskSpec.RootfsMount m : spec.rootfs()) {
        Mounts.mount(m.type(), m.source(), m.options(), rootfs);
        done++;
      }
      return true;
    } catch (IOException e) {
      for (int i = 0; i < done; i++) {
        unmountQuietly(spec.id(), rootfs);
      }
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION,
          "container " + spec.id() + ": cannot mount its root filesystem: " + e.getMessage(),
          e);
    }
  }

  /** Starts the container's process ({@code execId} empty) or an exec. Returns its pid. */
  public int start(String id, String execId) {
    GuestProcess p = get(id).process(execId);
    p.start();
    return p.pid;
  }

  public int start(String id) {
    return start(id, "");
  }

  /**
   * Adds an exec: another wasm entry run in the container's context (same rootfs, mounts, memory
   * limit), with its own argv, environment and stdio.
   */
  public void exec(ExecSpec exec) {
    String id = exec.containerId();
    String execId = exec.execId();
    Task task = get(id);
    if (execId == null || execId.isEmpty()) {
      throw ModuleLoader.invalid(id, "an exec needs an exec id");
    }
    if (task.init.state() != TaskState.RUNNING) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION, "container " + id + " is not running; cannot exec");
    }
    RuntimeSpec execSpec = task.runtimeSpec.withProcess(exec.process());
    Stdio.Files files = exec.stdio().files(id);
    ModuleLoader.Found module =
        ModuleLoader.findForExec(
            id, execSpec, task.runtimeSpec.args(), task.rootfs, task.spec.images());
    if (task.execs.containsKey(execId)) {
      throw alreadyExists(id, execId);
    }
    // An exec is another instance with a linear memory of its own, up to the container's cap.
    long limit = capOf(execSpec, module);
    MemoryBudget.Reservation memory = admit(id, "exec " + execId, limit);
    Guest guest;
    try {
      guest =
          prepare(
              engine(id, execSpec, false),
              ModuleLoader.guestSpec(
                  id, task.spec.bundle(), files, execSpec, task.rootfs, module, limit));
    } catch (RuntimeException e) {
      memory.close();
      throw e;
    }
    // An exec runs in its container's cgroup.
    GuestProcess p = process(id, execId, pid, guest, exec.stdio(), files, memory, task.cpu);
    if (task.execs.putIfAbsent(execId, p) != null) {
      p.free();
      throw alreadyExists(id, execId);
    }
    events.publish(new TaskEvent.ExecAdded(id, execId));
  }

  private static KrillException alreadyExists(String id, String execId) {
    return new KrillException(
        ErrorCode.ALREADY_EXISTS, "container " + id + ": exec " + execId + " already exists");
  }

  /**
   * Signals the container's process ({@code execId} empty) or an exec, and with {@code all} every
   * exec of the container too. A signal a wasm guest cannot take is refused before any process is
   * touched (see {@link Signals}).
   */
  public void kill(String id, String execId, int signal, boolean all) {
    Task task = get(id);
    boolean exec = execId != null && !execId.isEmpty();
    Signals.terminates("container " + id + (exec ? " exec " + execId : ""), signal);
    if (all && (execId == null || execId.isEmpty())) {
      for (GuestProcess e : task.execs.values()) {
        try {
          e.kill(signal);
        } catch (KrillException ignored) {
          // already finished
        }
      }
    }
    List<ServerSocketChannel> listening = listeners.getOrDefault(id, List.of());
    if (!exec
        && signal == SIGTERM
        && !listening.isEmpty()
        // an instance-per-request container drains in its own server, on the usual kill
        && !task.runtimeSpec.annotations().containsKey(RequestServers.ANNOTATION)
        && task.process(execId).drain(signal, () -> Listeners.close(listening))) {
      // a listening guest stops gracefully: its ports close at once, its connections go on
      return;
    }
    task.process(execId).kill(signal);
  }

  private static final int SIGTERM = 15;

  public void kill(String id, int signal) {
    kill(id, "", signal, false);
  }

  /** Forgets a process that is not running (a container: also unmounts its rootfs). */
  public ExitStatus delete(String id, String execId) {
    Task task = get(id);
    GuestProcess p = task.process(execId);
    ExitStatus status = p.delete();
    if (p.isExec()) {
      task.execs.remove(p.processId);
    } else {
      for (GuestProcess e : task.execs.values()) {
        try {
          e.kill(9);
        } catch (KrillException ignored) {
          // already finished
        }
      }
      tasks.remove(id);
      Listeners.close(listeners.getOrDefault(id, List.of()));
      listeners.remove(id);
      PrivateMounts.release(id, task.privateMounts);
      if (task.mountedRootfs) {
        unmountQuietly(id, task.rootfs);
      }
      if (task.cpu != null) {
        removeCgroup(id, task.cpu);
      }
      LOG.log(Level.INFO, "container {0}: deleted", id);
    }
    events.publish(new TaskEvent.Deleted(id, p.processId, p.pid, status));
    return status;
  }

  public ExitStatus delete(String id) {
    return delete(id, "");
  }

  /**
   * Kills (if needed), waits briefly for the exit, and deletes: the cleanup path for a lost shim.
   */
  public ExitStatus forceDelete(String id) {
    Task task = get(id);
    if (task.init.state() == TaskState.RUNNING) {
      try {
        kill(id, "", 9, true);
      } catch (KrillException ignored) {
        // it stopped on its own meanwhile
      }
      task.init
          .exit
          .orTimeout(GuestProcess.KILL_GRACE_MILLIS * 2, TimeUnit.MILLISECONDS)
          .exceptionally(t -> null)
          .join();
    }
    return delete(id);
  }

  public CompletableFuture<ExitStatus> waitFor(String id, String execId) {
    return get(id).process(execId).exit.copy();
  }

  public CompletableFuture<ExitStatus> waitFor(String id) {
    return waitFor(id, "");
  }

  public TaskInfo info(String id, String execId) {
    Task task = get(id);
    GuestProcess p = task.process(execId);
    synchronized (p) {
      ExitStatus exit = p.exitStatus;
      return new TaskInfo(
          id, task.spec.bundle(), p.pid, p.state, p.stdin, p.stdout, p.stderr, p.terminal, exit);
    }
  }

  public TaskInfo info(String id) {
    return info(id, "");
  }

  /** The pids of the container's processes (its own and running execs). */
  public List<Integer> pids(String id) {
    Task task = get(id);
    return Stream.concat(Stream.of(task.init), task.execs.values().stream())
        .map(p -> p.pid)
        .distinct()
        .toList();
  }

  public TaskStats stats(String id) {
    Task task = get(id);
    long cpu = task.init.cpuNanos();
    long memory = task.init.guest.linearMemoryBytes();
    int running = task.init.state() == TaskState.RUNNING ? 1 : 0;
    for (GuestProcess e : task.execs.values()) {
      cpu += e.cpuNanos();
      memory += e.guest.linearMemoryBytes();
      running += e.state() == TaskState.RUNNING ? 1 : 0;
    }
    if (task.cpu != null) {
      // What the kernel charged the container's cgroup: every thread of it, execs included.
      cpu = task.cpu.usageNanos().orElse(cpu);
    }
    return new TaskStats(cpu, memory, task.memoryLimit, running);
  }

  /**
   * Changes a container's CPU limits live (fields left null stay as they are): its cgroup's files
   * are rewritten, and the kernel applies them to the running guests at once.
   */
  public void updateCpu(String id, RuntimeSpec.Cpu cpu) {
    Task task = get(id);
    if (cpu == null || cpu.isEmpty()) {
      return;
    }
    if (task.cpu == null) {
      if (!cpuCgroups.enforced() || task.spec.kind() == TaskSpec.Kind.POD_SANDBOX) {
        LOG.log(Level.DEBUG, "container {0}: CPU limits not enforced; update ignored", id);
        return;
      }
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION,
          "container "
              + id
              + " has no CPU cgroup (it could not be made at create, see the daemon log);"
              + " recreate the container to apply CPU limits");
    }
    try {
      task.cpu.update(cpuLimits(cpu));
      LOG.log(Level.INFO, "container {0}: CPU limits updated in cgroup {1}", id, task.cpu.path());
    } catch (IOException e) {
      throw new KrillException(
          ErrorCode.INVALID_ARGUMENT,
          "container "
              + id
              + ": cannot set CPU limits: "
              + e.getMessage()
              + "; the period must be 1000-1000000 us and the quota at least 1000 us",
          e);
    }
  }

  /**
   * A terminal's new size (ResizePty): recorded, since a WASI preview 1 guest has no call to read
   * it. A process without a terminal has nothing to resize, and that is not an error (runc's shim
   * answers the same).
   */
  public void resizeTerminal(String id, String execId, int width, int height) {
    GuestProcess p = get(id).process(execId);
    if (p.terminal) {
      p.terminalSize = new GuestProcess.TerminalSize(width, height);
    }
  }

  /** Ends a process's stdin (CloseIO). */
  public void closeStdin(String id, String execId) {
    get(id).process(execId).guest.closeStdin();
  }

  public void closeStdin(String id) {
    closeStdin(id, "");
  }

  /** A memory limit is compiled into the module, so it can change only before the guest starts. */
  public void updateMemoryLimit(String id, long limitBytes) {
    Task task = get(id);
    if (limitBytes != task.memoryLimit) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION,
          "container "
              + id
              + ": the memory limit of a wasm guest is fixed when it is created; recreate the container to change it");
    }
  }

  public List<String> ids() {
    return List.copyOf(tasks.keySet());
  }

  Task get(String id) {
    Task task = tasks.get(id);
    if (task == null) {
      throw KrillException.notFound(id);
    }
    return task;
  }

  private static void unmountQuietly(String id, Path rootfs) {
    try {
      Mounts.unmount(rootfs);
    } catch (IOException e) {
      LOG.log(Level.WARNING, "container {0}: {1}", id, e.getMessage());
    }
  }
}
