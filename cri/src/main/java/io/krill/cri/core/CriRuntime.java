package io.krill.cri.core;

import io.krill.cri.container.AttachSession;
import io.krill.cri.container.ContainerEvent;
import io.krill.cri.container.ContainerRequest;
import io.krill.cri.container.ContainerResources;
import io.krill.cri.container.ContainerSecurity;
import io.krill.cri.container.ContainerView;
import io.krill.cri.container.Containers;
import io.krill.cri.container.CriContainer;
import io.krill.cri.container.ExecSession;
import io.krill.cri.container.NewContainer;
import io.krill.cri.image.StoredImage;
import io.krill.cri.pod.Pod;
import io.krill.cri.pod.PodRequest;
import io.krill.cri.pod.PodStore;
import io.krill.cri.pod.Pods;
import io.krill.cri.streaming.ForwardRequest;
import io.krill.cri.streaming.StreamRequest;
import io.krill.oci.RuntimeSpec;
import io.krill.os.NetNamespaces;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import io.krill.runtime.TaskState;
import io.krill.runtime.TaskStats;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * The CRI runtime service behind the gRPC adapters: pods ({@link Pods}) and containers ({@link
 * Containers}) on the runtime core, speaking records. Every rule of the service lives here or in
 * those role classes (a pod must be ready, where a container's log goes, that there is no tty,
 * which containers can be exec'd into or attached to), so an adapter only converts protobuf and
 * maps errors. Lookups take a full id or a unique prefix, as crictl passes them; every refusal
 * names the pod or container.
 */
public final class CriRuntime {
  private static final System.Logger LOG = System.getLogger("krill.cri");

  /**
   * The runtime handlers pods may ask for: the default ("") and {@code krill}, the handler name
   * krill has under containerd, so one RuntimeClass serves nodes of both kinds.
   */
  public static final List<String> RUNTIME_HANDLERS = List.of("", "krill");

  private static final String LOCALHOST = "localhost/";

  private final Pods pods;
  private final Containers containers;
  private final NameIndex names = new NameIndex();

  /** Takes back the names of the pods and containers an earlier daemon left on disk. */
  public CriRuntime(Pods pods, Containers containers) {
    this.pods = pods;
    this.containers = containers;
    for (Pod p : pods.list()) {
      names.reserve(NameIndex.podName(p), p.id());
      containers.createPodCgroup(p.id(), p.cgroupParent());
    }
    for (CriContainer c : containers.list()) {
      pods.find(c.podId()).ifPresent(p -> names.reserve(NameIndex.containerName(c, p), c.id()));
    }
  }

  /** Empty when pods can be given a network; otherwise why not (the NetworkReady condition). */
  public Optional<String> networkNotReadyBecause() {
    return pods.networkNotReadyBecause();
  }

  /**
   * kubelet sends the node's pod CIDR once it knows it. Pod addresses come from the CNI config's
   * own IPAM section (as with containerd without a CNI template), so krill accepts it and logs the
   * range.
   */
  public void podCidr(String cidr) {
    if (!cidr.isEmpty()) {
      LOG.log(
          Level.INFO,
          "kubelet set the pod CIDR to {0}; pod addresses come from the IPAM of the CNI config in"
              + " use",
          cidr);
    }
  }

  // ---- pods

  /**
   * Runs a pod under a new id, once per name: a second RunPodSandbox with the same metadata (a
   * kubelet retrying a call that timed out, say) is refused while the first pod exists, as
   * containerd refuses it.
   */
  public Pod runPod(PodRequest request) {
    if (!RUNTIME_HANDLERS.contains(request.runtimeHandler())) {
      throw new Refused(
          "pod sandbox "
              + request.namespace()
              + "/"
              + request.name()
              + ": no runtime for \""
              + request.runtimeHandler()
              + "\" is configured; krill cri serves the runtime handlers \"\" (the default) and"
              + " \"krill\": give the pod a RuntimeClass with one of them, or none");
    }
    String id = PodStore.newId();
    String name =
        NameIndex.podName(request.name(), request.namespace(), request.uid(), request.attempt());
    names
        .reserve(name, id)
        .ifPresent(
            holder -> {
              throw new KrillException(
                  ErrorCode.FAILED_PRECONDITION,
                  "pod sandbox "
                      + request.namespace()
                      + "/"
                      + request.name()
                      + ": failed to reserve sandbox name \""
                      + name
                      + "\": name \""
                      + name
                      + "\" is reserved for \""
                      + holder
                      + "\"; remove pod sandbox "
                      + holder
                      + " first, or run this one with the next attempt number");
            });
    try {
      Pod pod = pods.run(id, request);
      containers.createPodCgroup(pod.id(), pod.cgroupParent());
      return pod;
    } catch (RuntimeException e) {
      names.release(id);
      throw e;
    }
  }

  /**
   * Stops the pod's containers and takes its network down; stopping what is already gone succeeds.
   */
  public void stopPod(String podId) {
    // kubelet retries teardown after partial failures, so a missing pod is not an error.
    pods.find(podId)
        .ifPresent(
            p -> {
              containers.stopPod(p.id());
              pods.stop(p);
            });
  }

  /**
   * Removes the pod's containers, network, files and record; removing what is already gone
   * succeeds.
   */
  public void removePod(String podId) {
    pods.find(podId)
        .ifPresent(
            p -> {
              List<String> gone =
                  containers.list().stream()
                      .filter(c -> c.podId().equals(p.id()))
                      .map(CriContainer::id)
                      .toList();
              containers.removePod(p.id());
              containers.removePodCgroup(p.id());
              gone.forEach(names::release);
              pods.remove(p);
              names.release(p.id());
            });
  }

  /** The JSON of containerd's verbose sandbox info. */
  public String verbosePodInfo(Pod p) {
    return Pods.verboseInfo(p);
  }

  public Pod pod(String idOrPrefix) {
    return pods.get(idOrPrefix);
  }

  public Optional<Pod> findPod(String idOrPrefix) {
    return pods.find(idOrPrefix);
  }

  public List<Pod> pods() {
    return pods.list();
  }

  /**
   * A port forward into a ready pod, to be run when a client connects to the streaming server: each
   * forwarded connection goes to {@code localhost:PORT} in the pod's network namespace (the
   * daemon's for a host-network pod), where a guest listens through {@code krill.io/listen} or
   * krill serves a {@code krill.io/wagi} container. Over SPDY the client names the ports as it
   * connects; over WebSocket it is connected to {@code ports}.
   */
  public ForwardRequest portForward(String podId, List<Integer> ports) {
    Pod pod = pods.get(podId);
    if (!pod.ready()) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION,
          pod.describe()
              + " is not ready, so there is nothing to forward to; run a new pod sandbox");
    }
    String netns = pods.networkNamespace(pod).map(Path::toString).orElse(null);
    for (int port : ports) {
      if (port < 1 || port > 65535) {
        throw new KrillException(
            ErrorCode.INVALID_ARGUMENT,
            pod.describe() + ": port " + port + " is not a TCP port; name ports 1 to 65535");
      }
    }
    return new ForwardRequest(pod.id(), ports, port -> connect(pod, netns, port));
  }

  /** {@code localhost:port} as the pod sees it: 127.0.0.1, else ::1, as containerd dials it. */
  private static SocketChannel connect(Pod pod, String netns, int port) throws IOException {
    IOException v4;
    try {
      return NetNamespaces.connect(
          netns, new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port));
    } catch (IOException e) {
      v4 = e;
    }
    try {
      return NetNamespaces.connect(
          netns, new InetSocketAddress(InetAddress.getByName("::1"), port));
    } catch (IOException e) {
      throw new IOException(
          "cannot connect to localhost:"
              + port
              + (netns == null
                  ? " (host network)"
                  : " in the network namespace of " + pod.describe() + " (" + netns + ")")
              + ": "
              + v4.getMessage()
              + "; check that a container of the pod listens on port "
              + port
              + " (annotation krill.io/listen, or krill.io/wagi) and is running",
          v4);
    }
  }

  // ---- containers

  /**
   * Creates a container in a ready pod. Its log is {@code logPath} under the request's log
   * directory, else under the pod's; without either it has no log (and no output). A tty is
   * refused: wasm guests have no terminal.
   */
  public String createContainer(NewContainer r) {
    Pod pod = pods.get(r.podId());
    if (!pod.ready()) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION,
          pod.describe()
              + " is not ready, so container "
              + r.name()
              + " cannot be created in it; run a new pod sandbox");
    }
    String logDir = !r.logDirectory().isEmpty() ? r.logDirectory() : pod.logDirectory();
    String logPath =
        logDir.isEmpty() || r.logPath().isEmpty() ? "" : Path.of(logDir, r.logPath()).toString();
    if (r.tty()) {
      throw new KrillException(
          ErrorCode.INVALID_ARGUMENT,
          "container "
              + r.name()
              + " in pod "
              + pod.id()
              + ": a tty is not supported by krill (wasm guests have no terminal); remove tty: true");
    }
    checkSecurity(r, pod);
    String id = PodStore.newId();
    String name = NameIndex.containerName(r.name(), r.attempt(), pod);
    names
        .reserve(name, id)
        .ifPresent(
            holder -> {
              throw new KrillException(
                  ErrorCode.FAILED_PRECONDITION,
                  "container "
                      + r.name()
                      + " in pod "
                      + pod.id()
                      + ": failed to reserve container name \""
                      + name
                      + "\": name \""
                      + name
                      + "\" is reserved for \""
                      + holder
                      + "\"; remove container "
                      + holder
                      + " first, or create this one with the next attempt number");
            });
    try {
      return create(id, r, pod, logPath);
    } catch (RuntimeException e) {
      names.release(id);
      throw e;
    }
  }

  private String create(String id, NewContainer r, Pod pod, String logPath) {
    return containers.create(
        id,
        new ContainerRequest(
            pod.id(),
            r.name(),
            r.attempt(),
            r.image(),
            r.command(),
            r.args(),
            r.workingDir(),
            r.env(),
            r.mounts(),
            r.labels(),
            r.annotations(),
            logPath,
            r.memoryLimitBytes(),
            pod.hostname(),
            pods.filesDir(pod.id()),
            r.stdin(),
            r.stdinOnce(),
            r.cpu(),
            r.resources(),
            r.configJson(),
            pod.annotations(),
            pods.networkNamespace(pod).orElse(null)));
  }

  public void startContainer(String id) {
    containers.start(id);
  }

  /**
   * SIGTERM, then SIGKILL once {@code timeoutSeconds} have passed; a stopped container stays
   * stopped; stopping a container that does not exist succeeds.
   */
  public void stopContainer(String id, long timeoutSeconds) {
    containers.stop(id, timeoutSeconds);
  }

  /** Removing what is already gone succeeds. */
  public void removeContainer(String id) {
    Optional<CriContainer> c = containers.find(id);
    containers.remove(id);
    c.ifPresent(gone -> names.release(gone.id()));
  }

  /**
   * Log rotation: kubelet has renamed the file; later output goes to a new file at the log path.
   */
  public void reopenLog(String id) {
    containers.reopenLog(id);
  }

  /**
   * UpdateContainerResources: the memory limit is applied to the guest; every field is merged into
   * what the container's status echoes, as containerd merges it into the spec.
   */
  public void updateResources(String id, ContainerResources update) {
    containers.updateResources(id, update);
  }

  /**
   * containerd's {@code imageRef}: the image's repo digest ({@code name@sha256:<manifest>}) when
   * the store knows one, its id otherwise.
   */
  public String imageRef(CriContainer c) {
    return containers.imageRef(c);
  }

  /** containerd's status {@code image}: the image's first tag when it has one, else as asked. */
  public String imageName(CriContainer c) {
    return containers.imageName(c);
  }

  /** The JSON of containerd's verbose container info. */
  public String verboseInfo(CriContainer c) {
    return containers.verboseInfo(c);
  }

  /** Changes a container's CPU limits live (null: none to change). */
  public void updateCpu(String id, RuntimeSpec.Cpu cpu) {
    containers.updateCpu(id, cpu);
  }

  public ContainerView container(String idOrPrefix) {
    return view(containers.get(idOrPrefix));
  }

  public List<ContainerView> containers() {
    return containers.list().stream().map(this::view).toList();
  }

  /** The containers of one pod (by full id). */
  public List<ContainerView> containersOf(String podId) {
    return containers.list().stream().filter(c -> c.podId().equals(podId)).map(this::view).toList();
  }

  /**
   * Container lifecycle events in order, on one thread; a listener must not block. Returns the
   * unsubscribe.
   */
  public Runnable subscribe(Consumer<ContainerEvent> listener) {
    return containers.subscribe(listener);
  }

  /** Whether a container was made from the image, so it cannot be removed. */
  public boolean imageInUse(StoredImage image) {
    return containers.imageInUse(image);
  }

  /** CPU time and linear memory of a running container; empty for any other. */
  /**
   * CPU time charged to the pod's cgroup, every thread its containers ran included (also those that
   * have exited); empty where the pod has no cgroup (a host without cgroup v1 cpu).
   */
  public OptionalLong podCpuNanos(Pod p) {
    return containers.podCpuNanos(p.id());
  }

  public Optional<TaskStats> stats(ContainerView v) {
    return v.state() == ContainerView.State.RUNNING
        ? Optional.of(containers.stats(v.container()))
        : Optional.empty();
  }

  // ---- exec and attach

  /**
   * Runs {@code cmd} in the container and returns its output; after {@code timeoutSeconds} (0:
   * none) it is killed.
   */
  public ExecSession.Result execSync(String id, List<String> cmd, long timeoutSeconds) {
    CriContainer c = containers.get(id);
    if (cmd.isEmpty()) {
      throw new KrillException(ErrorCode.INVALID_ARGUMENT, "ExecSync needs a command");
    }
    return containers.exec(c, cmd).captured(timeoutSeconds);
  }

  /**
   * An exec of {@code cmd} in a running container, to be run when a client connects to the
   * streaming server.
   */
  public StreamRequest exec(
      String id, List<String> cmd, boolean stdin, boolean stdout, boolean stderr, boolean tty) {
    CriContainer c = running(id, "exec in");
    if (cmd.isEmpty()) {
      throw new KrillException(
          ErrorCode.INVALID_ARGUMENT, "container " + c.id() + ": Exec needs a command");
    }
    List<String> argv = List.copyOf(cmd);
    return new StreamRequest(
        StreamRequest.Kind.EXEC,
        c.id(),
        stdin,
        stdout,
        stderr,
        tty,
        s -> containers.exec(c, argv).streamed(s));
  }

  /**
   * An attach to a running container's output (and its stdin, if it was created with one), to be
   * run when a client connects. Needs the container's output pumps, so not for one started by an
   * earlier daemon.
   */
  public StreamRequest attach(
      String id, boolean stdin, boolean stdout, boolean stderr, boolean tty) {
    CriContainer c = running(id, "attach to");
    if (tty) {
      throw new KrillException(
          ErrorCode.INVALID_ARGUMENT,
          "container "
              + c.id()
              + " has no tty (wasm guests run"
              + " without a terminal); attach without -t");
    }
    AttachSession session = containers.attach(c);
    if (session == null) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION,
          "container "
              + c.id()
              + " was started by an"
              + " earlier krill cri process; its output is only in its log");
    }
    if (stdin && !session.hasStdin()) {
      throw new KrillException(
          ErrorCode.INVALID_ARGUMENT,
          "container "
              + c.id()
              + " was created without stdin;"
              + " attach without -i, or create it with stdin: true");
    }
    return new StreamRequest(
        StreamRequest.Kind.ATTACH, c.id(), stdin, stdout, stderr, false, session::run);
  }

  /**
   * containerd's checks of the security context: a group needs a user, and a seccomp profile is the
   * runtime's default, unconfined, or one of the node's ({@code localhost/<name>}).
   */
  private static void checkSecurity(NewContainer r, Pod pod) {
    ContainerSecurity s = r.security();
    String who = "container " + r.name() + " in pod " + pod.id() + ": ";
    if (s.runAsGroup() != null && s.runAsUser() == null && s.runAsUsername().isEmpty()) {
      throw new Refused(
          who
              + "user group \""
              + s.runAsGroup()
              + "\" is specified without user; set runAsUser (or run_as_username) too, or drop"
              + " runAsGroup");
    }
    if (s.seccomp() == null) {
      String path = s.seccompProfilePath();
      if (!path.isEmpty()
          && !path.equals("runtime/default")
          && !path.equals("docker/default")
          && !path.equals("unconfined")
          && !path.startsWith(LOCALHOST)) {
        throw new Refused(
            who
                + "failed to generate seccomp spec opts: invalid profile \""
                + path
                + "\"; use runtime/default, unconfined or localhost/<profile>");
      }
    } else if (s.seccomp().type() != ContainerSecurity.Seccomp.Type.LOCALHOST
        && !s.seccomp().localhostRef().isEmpty()) {
      throw new Refused(
          who
              + "seccomp config invalid LocalhostRef must only be set if ProfileType is Localhost;"
              + " drop localhost_ref or make the profile type Localhost");
    }
  }

  private CriContainer running(String id, String what) {
    ContainerView v = container(id);
    if (v.state() != ContainerView.State.RUNNING) {
      throw new KrillException(
          ErrorCode.FAILED_PRECONDITION,
          "container "
              + v.container().id()
              + " is not"
              + " running; cannot "
              + what
              + " it (read its log with crictl logs instead)");
    }
    return v.container();
  }

  /** The state first, then the record: a guest that exited in between has its exit filled in. */
  private ContainerView view(CriContainer read) {
    TaskState s = containers.state(read);
    ContainerView.State state =
        switch (s) {
          case CREATED -> ContainerView.State.CREATED;
          case RUNNING -> ContainerView.State.RUNNING;
          case STOPPED, DELETED -> ContainerView.State.EXITED;
        };
    CriContainer c =
        state == ContainerView.State.EXITED && read.finishedAtNanos() == 0
            ? containers.current(read)
            : read;
    return new ContainerView(c, state);
  }
}
