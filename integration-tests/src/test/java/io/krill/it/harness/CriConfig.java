package io.krill.it.harness;

import java.nio.file.Path;

/**
 * The CRI part of a private containerd's config. {@link #runtimeHandler} and {@link
 * #defaultRuntime} are, character for character, the snippets docs/kubernetes.md tells operators to
 * add, so the documentation is what the tests run.
 */
public final class CriConfig {
  public static final String HANDLER = "krill";

  /** The krill-isolated runtime's handler: a krill daemon per pod. */
  public static final String ISOLATED_HANDLER = "krill-isolated";

  public static final String CNI_BIN_DIR = "/usr/lib/cni";

  private CriConfig() {}

  /**
   * krill's annotations, passed from pods and containers to the OCI specs (as `krill install`
   * writes).
   */
  static final String ANNOTATIONS =
      "  pod_annotations = [\"krill.io/*\"]\n  container_annotations = [\"krill.io/*\"]\n";

  /** The plugin that holds runtimes: config v2 (1.6, 1.7) and v3 (2.x) moved it. */
  public static String runtimePlugin(ContainerdVersion v) {
    return v.isV2() ? "io.containerd.cri.v1.runtime" : "io.containerd.grpc.v1.cri";
  }

  /** The documented runtime handler stanza for {@code v}. */
  public static String runtimeHandler(ContainerdVersion v) {
    return "[plugins.\""
        + runtimePlugin(v)
        + "\".containerd.runtimes."
        + HANDLER
        + "]\n"
        + "  runtime_type = \""
        + Dist.RUNTIME
        + "\"\n"
        + ANNOTATIONS;
  }

  /** The documented stanza for the krill-isolated runtime (a daemon per pod) for {@code v}. */
  public static String isolatedRuntimeHandler(ContainerdVersion v) {
    return "[plugins.\""
        + runtimePlugin(v)
        + "\".containerd.runtimes."
        + ISOLATED_HANDLER
        + "]\n"
        + "  runtime_type = \""
        + Dist.ISOLATED_RUNTIME
        + "\"\n"
        + ANNOTATIONS;
  }

  /**
   * The documented stanza that makes krill containerd's default runtime for {@code v}: pods without
   * a RuntimeClass (CRI runtime handler {@code ""}) run on krill.
   */
  public static String defaultRuntime(ContainerdVersion v) {
    return "[plugins.\""
        + runtimePlugin(v)
        + "\".containerd]\n"
        + "  default_runtime_name = \""
        + HANDLER
        + "\"\n";
  }

  /** As {@link #toml(ContainerdVersion, Path, Path, String, boolean)}, runc the default runtime. */
  public static String toml(
      ContainerdVersion v, Path cniConfDir, Path registryHostsDir, String sandboxImage) {
    return toml(v, cniConfDir, registryHostsDir, sandboxImage, false);
  }

  /**
   * Everything CRI needs, all of it private: CNI conf dir, the registry hosts dir (plain HTTP to
   * the local registry), the sandbox image, and network namespaces under containerd's own state
   * dir. With {@code krillDefault}, krill is the default runtime ({@link #defaultRuntime}) rather
   * than containerd's own default, runc.
   */
  public static String toml(
      ContainerdVersion v,
      Path cniConfDir,
      Path registryHostsDir,
      String sandboxImage,
      boolean krillDefault) {
    return toml(v, cniConfDir, registryHostsDir, sandboxImage, krillDefault, "");
  }

  /**
   * As above, with {@code runtimeSettings} (lines such as {@code restrict_oom_score_adj = true})
   * added to the CRI runtime plugin's table.
   */
  public static String toml(
      ContainerdVersion v,
      Path cniConfDir,
      Path registryHostsDir,
      String sandboxImage,
      boolean krillDefault,
      String runtimeSettings) {
    String rt = "plugins.\"" + runtimePlugin(v) + "\"";
    StringBuilder b = new StringBuilder();
    if (v.isV2()) {
      String img = "plugins.\"io.containerd.cri.v1.images\"";
      b.append('[').append(img).append(".pinned_images]\n");
      b.append("  sandbox = ").append(q(sandboxImage)).append('\n');
      b.append('[').append(img).append(".registry]\n");
      b.append("  config_path = ").append(q(registryHostsDir)).append('\n');
      b.append('[').append(rt).append("]\n");
    } else {
      b.append('[').append(rt).append("]\n");
      b.append("  sandbox_image = ").append(q(sandboxImage)).append('\n');
    }
    // The default is /var/run/netns, shared with the host: a leak check there could not tell ours
    // apart.
    b.append("  netns_mounts_under_state_dir = true\n");
    b.append(runtimeSettings);
    if (krillDefault) {
      b.append(defaultRuntime(v));
    }
    b.append(runtimeHandler(v));
    b.append(isolatedRuntimeHandler(v));
    if (!v.isV2()) {
      // 1.x replaces rather than merges the runtimes map, which would leave the default runtime
      // undefined.
      b.append('[').append(rt).append(".containerd.runtimes.runc]\n");
      b.append("  runtime_type = \"io.containerd.runc.v2\"\n");
    }
    b.append('[').append(rt).append(".cni]\n");
    if (v.isV2()) {
      // 2.1 deprecates bin_dir (removal planned for 2.3) and says so in CRI's Status.
      b.append("  bin_dirs = [").append(q(CNI_BIN_DIR)).append("]\n");
    } else {
      b.append("  bin_dir = ").append(q(CNI_BIN_DIR)).append('\n');
    }
    b.append("  conf_dir = ").append(q(cniConfDir)).append('\n');
    if (!v.isV2()) {
      b.append('[').append(rt).append(".registry]\n");
      b.append("  config_path = ").append(q(registryHostsDir)).append('\n');
    }
    return b.toString();
  }

  /**
   * One bridge network with host-local addresses from {@code subnet}; IPAM state lives in {@code
   * ipamDir}. containerd adds the loopback network itself, from the same bin dir. libcni caches
   * each attachment in /var/lib/cni/results under the network's name, so a unique name tells our
   * leftovers apart.
   */
  public static String cniConflist(String network, String bridge, String subnet, Path ipamDir) {
    return cniConflist(network, bridge, subnet, ipamDir, false);
  }

  /**
   * As above; with {@code portmap}, the {@code portmap} plugin chained after {@code bridge}, as
   * docs/http.md shows it: containerd gives it the pod's host ports ({@code runtimeConfig.
   * portMappings}, since it declares the capability) and it DNATs them to the pod IP.
   */
  public static String cniConflist(
      String network, String bridge, String subnet, Path ipamDir, boolean portmap) {
    return """
                {
                  "cniVersion": "1.0.0",
                  "name": "%s",
                  "plugins": [
                    {
                      "type": "bridge",
                      "bridge": "%s",
                      "isGateway": true,
                      "ipMasq": false,
                      "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": "%s"}]],%s
                        "dataDir": "%s"
                      }
                    }%s
                  ]
                }
                """
        .formatted(
            network, bridge, subnet, portmap ? DEFAULT_ROUTE : "", ipamDir, portmap ? PORTMAP : "");
  }

  /**
   * A default route in the pod (via the bridge, its gateway): a connection to a host port comes
   * from the node's own address, not the bridge's, and the pod has to route its answers back.
   */
  static final String DEFAULT_ROUTE = "\n        \"routes\": [{\"dst\": \"0.0.0.0/0\"}],";

  /** The conflist's plugin entry for host ports, as docs/http.md has it. */
  static final String PORTMAP =
      ",\n    {\"type\": \"portmap\", \"capabilities\": {\"portMappings\": true}}";

  /** containerd's hosts.toml for the local registry: plain HTTP, pull and resolve only. */
  public static String hostsToml(String registryHost) {
    return "server = \"http://"
        + registryHost
        + "\"\n\n"
        + "[host.\"http://"
        + registryHost
        + "\"]\n"
        + "  capabilities = [\"pull\", \"resolve\"]\n";
  }

  private static String q(Object o) {
    return "\"" + o + "\"";
  }
}
