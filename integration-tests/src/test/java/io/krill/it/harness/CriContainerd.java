package io.krill.it.harness;

import static org.junit.jupiter.api.Assertions.fail;

import io.grpc.StatusRuntimeException;
import io.krill.cri.api.v1.ListContainersRequest;
import io.krill.cri.api.v1.ListPodSandboxRequest;
import io.krill.cri.api.v1.RemovePodSandboxRequest;
import io.krill.cri.api.v1.StopPodSandboxRequest;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;

/**
 * A private containerd with its CRI plugin on, as a node's kubelet would see it: runtime handler
 * {@code krill}, a bridge CNI network of its own (unique bridge name and subnet), a local pause
 * image, and a local registry that test images are pushed to and pulled from. Nothing it starts
 * outlives {@link #close()}.
 */
public final class CriContainerd implements AutoCloseable {
  public static final String NAMESPACE = "k8s.io";
  public static final String PAUSE_IMAGE = "krill.test/pause:1";

  /** What the tests pull: name (with tag) in the local registry. */
  public enum Image {
    PROGS("krill/progs:1"),
    HELLO("krill/hello:1"),
    /** HELLO under a name of its own, for the test that sees it absent before it pulls it. */
    HELLO_POD("krill/hello-pod:1"),
    /** An entrypoint that names a module the image does not have. */
    MISSING("krill/missing:1"),
    /** An entrypoint that is a Linux executable (an ELF header), as in any non-wasm image. */
    LINUX("krill/linux:1");

    final String name;

    Image(String name) {
      this.name = name;
    }
  }

  /** The first bytes of a 64-bit little-endian ELF file: enough for krill to tell what it is. */
  private static final byte[] ELF_HEADER = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0};

  private static final Map<Image, Path> TARBALLS = new EnumMap<>(Image.class);

  /** libcni's attachment cache; not configurable through containerd. */
  private static final Path CNI_RESULTS = Path.of("/var/lib/cni/results");

  private final Path dir;
  private final String bridge;
  private final LocalRegistry registry;
  private final Containerd containerd;
  private final CriClient client;

  private final boolean krillDefault;

  private CriContainerd(ContainerdVersion version, boolean krillDefault) {
    this(version, krillDefault, Map.of(), "", false);
  }

  private CriContainerd(
      ContainerdVersion version,
      boolean krillDefault,
      Map<String, String> env,
      String runtimeSettings,
      boolean portmap) {
    this.krillDefault = krillDefault;
    try {
      dir = Files.createTempDirectory(Path.of("/tmp"), "krill-cri-").toRealPath();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    bridge = "krill" + HexFormat.of().toHexDigits(ThreadLocalRandom.current().nextInt());
    LocalRegistry reg = null;
    Containerd c = null;
    try {
      reg = new LocalRegistry(Files.createDirectories(dir.resolve("registry")));
      Path hosts = Files.createDirectories(dir.resolve("certs.d").resolve(reg.host()));
      Files.writeString(hosts.resolve("hosts.toml"), CriConfig.hostsToml(reg.host()));
      Path cni = Files.createDirectories(dir.resolve("cni"));
      ThreadLocalRandom r = ThreadLocalRandom.current();
      // 10.200.0.0/13 is rarely routed anywhere; a random /24 in it keeps parallel runs apart.
      String subnet = "10." + (200 + r.nextInt(8)) + "." + r.nextInt(256) + ".0/24";
      Files.writeString(
          cni.resolve("10-krill-it.conflist"),
          CriConfig.cniConflist(bridge, bridge, subnet, dir.resolve("cni-ipam"), portmap));
      c =
          Containerd.startWithCri(
              version,
              CriConfig.toml(
                  version, cni, dir.resolve("certs.d"), PAUSE_IMAGE, krillDefault, runtimeSettings),
              env);
      c.importImage(NAMESPACE, pauseTarball(dir));
    } catch (IOException e) {
      closeQuietly(c, reg);
      throw new UncheckedIOException(e);
    } catch (RuntimeException | Error e) {
      closeQuietly(c, reg);
      throw e;
    }
    registry = reg;
    containerd = c;
    client = new CriClient(containerd.socket());
  }

  public static CriContainerd start(ContainerdVersion version) {
    return new CriContainerd(version, false);
  }

  /**
   * As {@link #start}, with {@code env} added for containerd (and so for the krill daemons) and
   * {@code runtimeSettings} in the CRI runtime plugin's table.
   */
  public static CriContainerd start(
      ContainerdVersion version, Map<String, String> env, String runtimeSettings) {
    return new CriContainerd(version, false, env, runtimeSettings, false);
  }

  /**
   * As {@link #start}, with CNI's {@code portmap} plugin chained after {@code bridge} in this
   * instance's own conflist ({@link CriConfig#cniConflist(String, String, String, Path, boolean)}):
   * a pod's port mappings with a host port become DNAT rules to the pod IP.
   */
  public static CriContainerd startWithPortmap(ContainerdVersion version) {
    return new CriContainerd(version, false, Map.of(), "", true);
  }

  /**
   * As {@link #start}, with krill as containerd's default runtime ({@link
   * CriConfig#defaultRuntime}): pods without a RuntimeClass (runtime handler {@code ""}) run on
   * krill too.
   */
  public static CriContainerd startWithKrillAsDefault(ContainerdVersion version) {
    return new CriContainerd(version, true);
  }

  /** Whether krill is this containerd's default runtime ({@link #startWithKrillAsDefault}). */
  public boolean krillIsDefault() {
    return krillDefault;
  }

  private void closeQuietly(Containerd c, LocalRegistry reg) {
    try {
      if (c != null) {
        c.close();
      }
    } catch (RuntimeException | Error ignored) {
      // the startup failure is the one to report
    }
    if (reg != null) {
      reg.close();
    }
    Host.run("ip", "link", "del", bridge);
    Host.deleteTree(dir);
  }

  // krill serves sandboxes itself and never runs /pause, so any file will do as the pause binary.
  private static Path pauseTarball(Path dir) {
    return OciImage.named(PAUSE_IMAGE)
        .layer(Map.of("/pause", "krill never executes this\n".getBytes(StandardCharsets.UTF_8)))
        .entrypoint("/pause")
        .writeTarball(dir.resolve("pause.tar"));
  }

  public Containerd containerd() {
    return containerd;
  }

  public CriClient cri() {
    return client;
  }

  public ContainerdVersion version() {
    return containerd.version();
  }

  /**
   * Pushes {@code image} to the local registry (once per instance is enough) and returns its
   * reference.
   */
  public String push(Image image) {
    return registry.push(tarball(image), image.name);
  }

  /** host:port of this instance's local registry, for images the test pushes itself. */
  public String registryHost() {
    return registry.host();
  }

  /** The reference {@code image} has in the local registry, whether pushed or not. */
  public String ref(Image image) {
    return registry.host() + "/" + image.name;
  }

  private static Path tarball(Image image) {
    synchronized (TARBALLS) {
      return TARBALLS.computeIfAbsent(
          image,
          i -> {
            OciImage img =
                switch (i) {
                  case PROGS -> progsImage();
                  case HELLO, HELLO_POD ->
                      OciImage.named(i.name)
                          .layer(Map.of("/hello.wasm", TestPrograms.bytes("hello.wasm")))
                          .entrypoint("/hello.wasm");
                  case MISSING ->
                      OciImage.named(i.name)
                          .layer(Map.of("/hello.wasm", TestPrograms.bytes("hello.wasm")))
                          .entrypoint("/missing.wasm");
                  case LINUX ->
                      OciImage.named(i.name)
                          .layer(Map.of("/bin/app", ELF_HEADER))
                          .entrypoint("/bin/app");
                };
            try {
              Path t = Files.createTempFile("krill-cri-image-", ".tar");
              t.toFile().deleteOnExit();
              return img.writeTarball(t);
            } catch (IOException e) {
              throw new UncheckedIOException(e);
            }
          });
    }
  }

  private static OciImage progsImage() {
    Map<String, byte[]> progs = new LinkedHashMap<>();
    for (String m : TestPrograms.wasmModules()) {
      progs.put("/" + m, TestPrograms.bytes(m));
    }
    return OciImage.named(Image.PROGS.name).layer(progs).entrypoint("/hello.wasm");
  }

  /** A directory for pod logs and other test files, removed with this instance. */
  public Path newDir(String name) {
    try {
      return Files.createTempDirectory(dir, name + "-");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public String logTail(int lines) {
    return containerd.logTail(lines);
  }

  /**
   * Fails unless CRI knows no pods or containers and containerd itself has no leaks (tasks,
   * daemons, mounts).
   */
  public void assertNoLeaks() {
    List<String> problems = new ArrayList<>();
    var pods =
        client.runtime().listPodSandbox(ListPodSandboxRequest.getDefaultInstance()).getItemsList();
    if (!pods.isEmpty()) {
      problems.add("pods left: " + pods.stream().map(p -> p.getMetadata().getName()).toList());
    }
    var cs =
        client
            .runtime()
            .listContainers(ListContainersRequest.getDefaultInstance())
            .getContainersList();
    if (!cs.isEmpty()) {
      problems.add("containers left: " + cs.stream().map(x -> x.getMetadata().getName()).toList());
    }
    cniResults().forEach(r -> problems.add("CNI attachment never deleted: " + r));
    if (!problems.isEmpty()) {
      fail("CRI leaks on " + version() + ":\n  " + String.join("\n  ", problems));
    }
    containerd.assertNoLeaks();
  }

  /**
   * Stops containerd (which checks for krill daemons and mounts, network namespaces included), then
   * the registry, then removes the bridge CNI made and the temp dir.
   */
  @Override
  public void close() {
    List<String> problems = new ArrayList<>(removeLeftoverPods());
    client.close();
    try {
      containerd.close();
    } finally {
      registry.close();
      // CNI's bridge plugin never deletes the bridge: it outlives every pod by design.
      Host.run("ip", "link", "del", bridge);
      for (Path r : cniResults()) {
        problems.add("CNI attachment left: " + r);
        try {
          Files.deleteIfExists(r);
        } catch (IOException e) {
          problems.add("cannot delete " + r + ": " + e);
        }
      }
      Host.deleteTree(dir);
    }
    if (!problems.isEmpty()) {
      fail("cleanup of CRI " + version() + " found problems:\n  " + String.join("\n  ", problems));
    }
  }

  /**
   * A failed test leaves its pods; stopping them through CRI (as kubelet would) lets CNI delete
   * their attachments and network namespaces, which stopping containerd alone would leak on the
   * host.
   */
  private List<String> removeLeftoverPods() {
    List<String> problems = new ArrayList<>();
    try {
      for (var pod :
          client
              .runtime()
              .listPodSandbox(ListPodSandboxRequest.getDefaultInstance())
              .getItemsList()) {
        problems.add("pod left at close: " + pod.getMetadata().getName());
        client
            .runtime()
            .stopPodSandbox(
                StopPodSandboxRequest.newBuilder().setPodSandboxId(pod.getId()).build());
        client
            .runtime()
            .removePodSandbox(
                RemovePodSandboxRequest.newBuilder().setPodSandboxId(pod.getId()).build());
      }
    } catch (StatusRuntimeException e) {
      problems.add("cannot remove leftover pods: " + e.getStatus());
    }
    return problems;
  }

  private List<Path> cniResults() {
    try (var s = Files.list(CNI_RESULTS)) {
      return s.filter(p -> p.getFileName().toString().startsWith(bridge + "-")).toList();
    } catch (NoSuchFileException e) {
      return List.of();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
