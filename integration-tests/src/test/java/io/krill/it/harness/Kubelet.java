package io.krill.it.harness;

import static io.krill.it.harness.KrillTasks.id;
import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.ContainerConfig;
import io.krill.cri.api.v1.ContainerMetadata;
import io.krill.cri.api.v1.ContainerState;
import io.krill.cri.api.v1.ContainerStatus;
import io.krill.cri.api.v1.ContainerStatusRequest;
import io.krill.cri.api.v1.CreateContainerRequest;
import io.krill.cri.api.v1.ImageSpec;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.cri.api.v1.PodSandboxMetadata;
import io.krill.cri.api.v1.PodSandboxStatusRequest;
import io.krill.cri.api.v1.PullImageRequest;
import io.krill.cri.api.v1.RemoveContainerRequest;
import io.krill.cri.api.v1.RemovePodSandboxRequest;
import io.krill.cri.api.v1.RunPodSandboxRequest;
import io.krill.cri.api.v1.StartContainerRequest;
import io.krill.cri.api.v1.StopPodSandboxRequest;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The kubelet's moves, as the CRI-through-containerd tests make them: pod and container configs,
 * create/start, waits, teardown.
 */
public final class Kubelet {
  public static final Duration EXIT_TIMEOUT = Duration.ofSeconds(60);

  private Kubelet() {}

  /** A pod as kubelet describes it: uid, namespace, kubelet labels, its log directory. */
  public static PodSandboxConfig podConfig(CriContainerd c, String name) {
    String uid = id("uid");
    return PodSandboxConfig.newBuilder()
        .setMetadata(
            PodSandboxMetadata.newBuilder().setName(name).setUid(uid).setNamespace("krill-it"))
        .setHostname(name)
        .setLogDirectory(c.newDir("pod-" + name).toString())
        .putLabels("io.kubernetes.pod.name", name)
        .putLabels("io.kubernetes.pod.uid", uid)
        .putAnnotations("krill.test/pod", name)
        .build();
  }

  public static Pod runPod(CriContainerd c, String name) {
    return runPod(c, name, CriConfig.HANDLER);
  }

  /**
   * A pod with RuntimeClass handler {@code handler}; {@code ""} is a pod without a RuntimeClass,
   * which containerd gives its default runtime.
   */
  public static Pod runPod(CriContainerd c, String name, String handler) {
    return runPod(c, podConfig(c, name), handler);
  }

  /** A pod of the given config (for example {@link #podConfig} with a cgroup parent). */
  public static Pod runPod(CriContainerd c, PodSandboxConfig cfg, String handler) {
    String id =
        call(
            c,
            "RunPodSandbox " + cfg.getMetadata().getName(),
            () ->
                c.cri()
                    .runtime()
                    .runPodSandbox(
                        RunPodSandboxRequest.newBuilder()
                            .setConfig(cfg)
                            .setRuntimeHandler(handler)
                            .build())
                    .getPodSandboxId());
    return new Pod(id, cfg);
  }

  public static String pull(CriContainerd c, String ref) {
    return call(
        c,
        "PullImage " + ref,
        () ->
            c.cri()
                .images()
                .pullImage(
                    PullImageRequest.newBuilder()
                        .setImage(ImageSpec.newBuilder().setImage(ref))
                        .build())
                .getImageRef());
  }

  public static ContainerConfig.Builder containerConfig(
      String name, String image, String... command) {
    ContainerConfig.Builder b =
        ContainerConfig.newBuilder()
            .setMetadata(ContainerMetadata.newBuilder().setName(name))
            .setImage(ImageSpec.newBuilder().setImage(image))
            .setLogPath(name + "/0.log")
            .putLabels("io.kubernetes.container.name", name);
    if (command.length > 0) {
      b.addAllCommand(List.of(command));
    }
    return b;
  }

  public static String create(CriContainerd c, Pod pod, ContainerConfig.Builder cfg) {
    return call(
        c,
        "CreateContainer " + cfg.getMetadata().getName(),
        () ->
            c.cri()
                .runtime()
                .createContainer(
                    CreateContainerRequest.newBuilder()
                        .setPodSandboxId(pod.id())
                        .setConfig(cfg)
                        .setSandboxConfig(pod.config())
                        .build())
                .getContainerId());
  }

  public static String createAndStart(CriContainerd c, Pod pod, ContainerConfig.Builder cfg) {
    String id = create(c, pod, cfg);
    call(
        c,
        "StartContainer " + cfg.getMetadata().getName(),
        () ->
            c.cri()
                .runtime()
                .startContainer(StartContainerRequest.newBuilder().setContainerId(id).build()));
    return id;
  }

  /**
   * The pod's IP on its CNI network, from PodSandboxStatus (what kubelet probes); fails if none.
   */
  public static String podIp(CriContainerd c, Pod pod) {
    String ip =
        c.cri()
            .runtime()
            .podSandboxStatus(
                PodSandboxStatusRequest.newBuilder().setPodSandboxId(pod.id()).build())
            .getStatus()
            .getNetwork()
            .getIp();
    if (ip.isEmpty()) {
      fail("pod " + pod.id() + " has no IP");
    }
    return ip;
  }

  public static ContainerStatus status(CriContainerd c, String id) {
    return c.cri()
        .runtime()
        .containerStatus(ContainerStatusRequest.newBuilder().setContainerId(id).build())
        .getStatus();
  }

  /** Polls ContainerStatus, as kubelet's relist does, until {@code done} holds. */
  public static ContainerStatus await(
      CriContainerd c, String id, Predicate<ContainerStatus> done, Duration timeout, String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    ContainerStatus s = status(c, id);
    while (!done.test(s)) {
      if (System.nanoTime() > deadline) {
        fail(
            "container "
                + s.getMetadata().getName()
                + " never "
                + what
                + " on "
                + c.version()
                + " within "
                + timeout.toSeconds()
                + " s; last status:\n"
                + s
                + "\ncontainerd log tail:\n"
                + c.logTail(40));
      }
      Host.sleep(100);
      s = status(c, id);
    }
    return s;
  }

  public static ContainerStatus awaitExited(CriContainerd c, String id) {
    return await(
        c, id, s -> s.getState() == ContainerState.CONTAINER_EXITED, EXIT_TIMEOUT, "EXITED");
  }

  public static ContainerStatus awaitRunning(CriContainerd c, String id) {
    return await(
        c, id, s -> s.getState() == ContainerState.CONTAINER_RUNNING, EXIT_TIMEOUT, "RUNNING");
  }

  /** What kubelet does when a pod goes away: remove its containers, stop and remove the sandbox. */
  public static void teardown(CriContainerd c, Pod pod, String... containers) {
    for (String id : containers) {
      call(
          c,
          "RemoveContainer",
          () ->
              c.cri()
                  .runtime()
                  .removeContainer(RemoveContainerRequest.newBuilder().setContainerId(id).build()));
    }
    call(
        c,
        "StopPodSandbox",
        () ->
            c.cri()
                .runtime()
                .stopPodSandbox(
                    StopPodSandboxRequest.newBuilder().setPodSandboxId(pod.id()).build()));
    call(
        c,
        "RemovePodSandbox",
        () ->
            c.cri()
                .runtime()
                .removePodSandbox(
                    RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod.id()).build()));
  }

  /**
   * krill tasks left in k8s.io, per {@code ctr task ls}; CRI tasks are named by container or
   * sandbox id.
   */
  public static List<String> krillTasks(CriContainerd c) {
    return c
        .containerd()
        .ok("-n", CriContainerd.NAMESPACE, "tasks", "ls", "-q")
        .stdoutLines()
        .stream()
        .map(String::strip)
        .filter(s -> !s.isEmpty())
        .toList();
  }

  /**
   * Runs one CRI call; a gRPC failure fails the test with containerd's log tail, which says why.
   */
  public static <T> T call(CriContainerd c, String what, Supplier<T> rpc) {
    try {
      return rpc.get();
    } catch (StatusRuntimeException e) {
      fail(
          what
              + " failed on "
              + c.version()
              + ": "
              + e.getStatus()
              + "\ncontainerd log tail:\n"
              + c.logTail(40));
      return null;
    }
  }

  public static Path logFile(Pod pod, String containerName) {
    return Path.of(pod.config().getLogDirectory(), containerName, "0.log");
  }
}
