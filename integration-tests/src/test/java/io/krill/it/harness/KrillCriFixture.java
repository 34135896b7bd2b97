package io.krill.it.harness;

import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.ImageSpec;
import io.krill.cri.api.v1.PodSandboxConfig;
import io.krill.cri.api.v1.PullImageRequest;
import io.krill.cri.api.v1.RemovePodSandboxRequest;
import io.krill.cri.api.v1.RunPodSandboxRequest;
import io.krill.cri.api.v1.StopPodSandboxRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What every {@code krill cri} test class starts from, in a directory of its own: a local registry
 * ({@code registry/}), the built {@code krill cri} daemon on {@code run/krill.sock} with its root
 * in {@code root/}, no CNI config ({@code no-cni/}) unless given one and its output in {@code
 * daemon.log}, a CRI client, and the host-network pods the class runs through {@link #runHostPod}.
 * A class opens one in {@code @BeforeAll} and closes it in {@code @AfterAll}; {@link #close()}
 * stops and removes those pods, then the daemon, then the registry, each even if the one before
 * failed.
 *
 * <pre>
 * fixture = KrillCriFixture.in(tmp).daemonOptions("--image-size-limit", "32M").start();
 * </pre>
 */
public final class KrillCriFixture implements AutoCloseable {
  private final Path dir;
  private final List<String> daemonOptions;
  private final Path cniConfDir;
  private final LocalRegistry registry;
  private final List<Pod> pods = new ArrayList<>();
  private KrillCriDaemon daemon;
  private CriClient client;

  private KrillCriFixture(
      Path dir, List<String> registryConfig, List<String> daemonOptions, Path cniConfDir)
      throws IOException {
    this.dir = dir;
    this.daemonOptions = daemonOptions;
    this.cniConfDir = cniConfDir == null ? dir.resolve("no-cni") : cniConfDir;
    registry = new LocalRegistry(Files.createDirectories(dir.resolve("registry")), registryConfig);
    try {
      startDaemon();
    } catch (IOException | RuntimeException | Error e) {
      registry.close();
      throw e;
    }
  }

  /** A fixture in {@code dir} (a test class's static {@code @TempDir}). */
  public static Builder in(Path dir) {
    return new Builder(dir);
  }

  public static final class Builder {
    private final Path dir;
    private List<String> registryConfig = List.of();
    private List<String> daemonOptions = List.of();
    private Path cniConfDir;

    private Builder(Path dir) {
      this.dir = dir;
    }

    /** Extra lines for the registry's config.yml (see {@link LocalRegistry}). */
    public Builder registryConfig(List<String> lines) {
      registryConfig = List.copyOf(lines);
      return this;
    }

    /** Options after {@code krill cri --socket --root --cni-conf-dir}. */
    public Builder daemonOptions(String... options) {
      daemonOptions = List.of(options);
      return this;
    }

    /**
     * The daemon's {@code --cni-conf-dir} (see {@link CriConfig#cniConflist}), so that pods get a
     * network namespace of their own; the class deletes the bridge its config names when done.
     */
    public Builder cniConfDir(Path cni) {
      cniConfDir = cni;
      return this;
    }

    /** Starts the registry and the daemon; on failure nothing is left running. */
    public KrillCriFixture start() throws IOException {
      return new KrillCriFixture(dir, registryConfig, daemonOptions, cniConfDir);
    }
  }

  private void startDaemon() throws IOException {
    daemon =
        KrillCriDaemon.start(
            socket(), root(), cniConfDir, log(), daemonOptions.toArray(String[]::new));
  }

  public LocalRegistry registry() {
    return registry;
  }

  public KrillCriDaemon daemon() {
    return daemon;
  }

  public Path socket() {
    return dir.resolve("run/krill.sock");
  }

  /** The daemon's {@code --root}: image store, pods, containers. */
  public Path root() {
    return dir.resolve("root");
  }

  public Path log() {
    return dir.resolve("daemon.log");
  }

  /** A client kept open until {@link #close()}; tests that restart the daemon make their own. */
  public synchronized CriClient cri() {
    if (client == null) {
      client = new CriClient(socket());
    }
    return client;
  }

  /** Stops the daemon (SIGTERM) and starts it again on the same socket, root and options. */
  public void restartDaemon() throws IOException {
    daemon.close();
    startDaemon();
  }

  /** PullImage {@code ref}; returns the image id. */
  public String pull(String ref) {
    return cri()
        .images()
        .pullImage(
            PullImageRequest.newBuilder().setImage(ImageSpec.newBuilder().setImage(ref)).build())
        .getImageRef();
  }

  /**
   * Runs a {@link CriCalls#hostPod} with its logs in {@code logs}; stopped and removed by {@link
   * #close()}.
   */
  public Pod runHostPod(String name, Path logs) {
    return runPod(CriCalls.hostPod(name, logs));
  }

  /** Runs a pod with {@code config}; stopped and removed by {@link #close()}. */
  public Pod runPod(PodSandboxConfig config) {
    String id =
        cri()
            .runtime()
            .runPodSandbox(RunPodSandboxRequest.newBuilder().setConfig(config).build())
            .getPodSandboxId();
    Pod pod = new Pod(id, config);
    synchronized (pods) {
      pods.add(pod);
    }
    return pod;
  }

  @Override
  public void close() {
    try {
      try {
        removePods();
      } finally {
        synchronized (this) {
          if (client != null) {
            client.close();
          }
        }
        if (daemon != null) {
          daemon.close();
        }
      }
    } finally {
      registry.close();
    }
  }

  private void removePods() {
    List<Pod> all;
    synchronized (pods) {
      all = List.copyOf(pods);
    }
    StatusRuntimeException first = null;
    for (Pod pod : all) {
      try {
        cri()
            .runtime()
            .stopPodSandbox(StopPodSandboxRequest.newBuilder().setPodSandboxId(pod.id()).build());
        cri()
            .runtime()
            .removePodSandbox(
                RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod.id()).build());
      } catch (StatusRuntimeException e) {
        if (first == null) {
          first = e;
        } else {
          first.addSuppressed(e);
        }
      }
    }
    if (first != null) {
      throw first;
    }
  }
}
