package io.krill.cri.container;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.krill.cri.image.StoredImage;
import io.krill.oci.RuntimeSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The config.json of a CRI container. The root is the image's unpacked tree itself, preopened
 * read-only: images are shared by every container made from them, and wasm guests write through
 * bind mounts (CRI volumes), so krill neither copies nor overlays the tree. A wasm-layer image gets
 * an empty root and its module from the image store. The container's {@code /etc} ({@link
 * ContainerEtc}), when it has one, is one more read-only bind; HOSTNAME is set as containerd sets
 * it, under the image's and the container's env. {@code linux.cgroupsPath} is {@code <pod
 * cgroup>/<id>} when the pod has a cgroup, as containerd writes it.
 */
final class BundleWriter {
  private static final ObjectMapper JSON = new ObjectMapper();

  private BundleWriter() {}

  static byte[] configJson(
      ContainerRequest req, StoredImage image, Path root, Path etc, String cgroupsPath)
      throws IOException {
    List<String> argv = argv(req.command(), req.args(), image.entrypoint(), image.cmd());
    String cwd =
        !req.workingDir().isEmpty()
            ? req.workingDir()
            : image.workingDir().isEmpty() ? "/" : image.workingDir();
    Map<String, String> annotations = new LinkedHashMap<>(req.annotations());
    annotations.put("io.kubernetes.cri.container-type", "container");
    annotations.put("io.kubernetes.cri.sandbox-id", req.podId());
    annotations.put("io.kubernetes.cri.container-name", req.name());
    annotations.put("io.kubernetes.cri.image-name", req.image());
    List<String> imageEnv = new ArrayList<>();
    if (!req.hostname().isEmpty()) {
      imageEnv.add("HOSTNAME=" + req.hostname());
    }
    imageEnv.addAll(image.env());
    List<RuntimeSpec.Mount> mounts =
        new ArrayList<>(req.mounts().stream().map(BundleWriter::bind).toList());
    if (etc != null) {
      // krill's own directory, under which nothing is ever mounted: a live view costs no mount.
      mounts.add(
          bind(
              new CriContainer.MountSpec(
                  "/etc",
                  etc.toAbsolutePath().toString(),
                  true,
                  CriContainer.Propagation.HOST_TO_CONTAINER)));
    }
    RuntimeSpec spec =
        new RuntimeSpec(
            "1.0.2",
            new RuntimeSpec.Process(argv, env(imageEnv, req.env()), cwd, false),
            new RuntimeSpec.Root(root.toAbsolutePath().toString(), true),
            mounts,
            annotations,
            new RuntimeSpec.Linux(
                new RuntimeSpec.Resources(
                    new RuntimeSpec.Memory(
                        req.memoryLimitBytes() > 0 ? req.memoryLimitBytes() : null),
                    req.cpu()),
                req.networkNamespace() == null
                    ? List.of()
                    : List.of(
                        new RuntimeSpec.Namespace("network", req.networkNamespace().toString())),
                cgroupsPath),
            null);
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(spec);
  }

  /** The runtime spec's view of a bind mount. */
  static RuntimeSpec.Mount bind(CriContainer.MountSpec m) {
    return new RuntimeSpec.Mount(
        m.containerPath(),
        "bind",
        m.hostPath(),
        List.of("rbind", m.propagation().option(), m.readOnly() ? "ro" : "rw"));
  }

  /** Kubernetes' rule: command replaces the entrypoint (and drops cmd), args replace cmd. */
  static List<String> argv(
      List<String> command, List<String> args, List<String> entrypoint, List<String> cmd) {
    List<String> out = new ArrayList<>(command.isEmpty() ? entrypoint : command);
    out.addAll(!args.isEmpty() ? args : command.isEmpty() ? cmd : List.of());
    return out;
  }

  /**
   * The image's environment with the container's on top, by variable name, keeping first-seen
   * order.
   */
  static List<String> env(List<String> image, List<String> container) {
    Map<String, String> byName = new LinkedHashMap<>();
    for (String kv : image) {
      byName.put(kv.contains("=") ? kv.substring(0, kv.indexOf('=')) : kv, kv);
    }
    for (String kv : container) {
      byName.put(kv.contains("=") ? kv.substring(0, kv.indexOf('=')) : kv, kv);
    }
    return List.copyOf(byName.values());
  }
}
