package io.krill.cri.pod;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A pod sandbox as krill keeps it: what kubelet asked for (echoed back exactly) and where it
 * stands. Wasm pods have no pause process; a host-network pod is pure bookkeeping, any other gets a
 * network namespace with CNI ({@link PodNetworks}). {@code configJson} is the RunPodSandbox config
 * as containerd shows it in verbose status; {@code cgroupParent} its {@code linux.cgroup_parent}
 * (kubelet's pod cgroup), under which the pod's containers get their cgroups.
 *
 * <pre>
 * READY ──StopPodSandbox──► NOTREADY ──RemovePodSandbox──► (gone)
 * </pre>
 */
public record Pod(
    String id,
    String name,
    String uid,
    String namespace,
    int attempt,
    Map<String, String> labels,
    Map<String, String> annotations,
    long createdAtNanos,
    boolean ready,
    boolean hostNetwork,
    String logDirectory,
    String runtimeHandler,
    String ip,
    String hostname,
    List<PortMapping> portMappings,
    String configJson,
    String cgroupParent) {
  public Pod {
    configJson = configJson == null ? "" : configJson;
    cgroupParent = cgroupParent == null ? "" : cgroupParent;
    Objects.requireNonNull(id, "id");
    labels = labels == null ? Map.of() : Map.copyOf(labels);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    logDirectory = logDirectory == null ? "" : logDirectory;
    runtimeHandler = runtimeHandler == null ? "" : runtimeHandler;
    ip = ip == null ? "" : ip;
    hostname = hostname == null ? "" : hostname;
    portMappings = portMappings == null ? List.of() : List.copyOf(portMappings);
  }

  /**
   * A CRI port mapping in the shape of CNI's {@code portMappings} capability ({@code hostIP} spelt
   * as the portmap plugin reads it); the protocol is lower case, as containerd passes it.
   */
  public record PortMapping(String protocol, int containerPort, int hostPort, String hostIP) {
    public PortMapping {
      protocol = protocol == null ? "tcp" : protocol.toLowerCase(Locale.ROOT);
      hostIP = hostIP == null ? "" : hostIP;
    }
  }

  public Pod stopped() {
    return new Pod(
        id,
        name,
        uid,
        namespace,
        attempt,
        labels,
        annotations,
        createdAtNanos,
        false,
        hostNetwork,
        logDirectory,
        runtimeHandler,
        ip,
        hostname,
        portMappings,
        configJson,
        cgroupParent);
  }

  public Pod withIp(String address) {
    return new Pod(
        id,
        name,
        uid,
        namespace,
        attempt,
        labels,
        annotations,
        createdAtNanos,
        ready,
        hostNetwork,
        logDirectory,
        runtimeHandler,
        address,
        hostname,
        portMappings,
        configJson,
        cgroupParent);
  }

  public Pod(
      String id,
      String name,
      String uid,
      String namespace,
      int attempt,
      Map<String, String> labels,
      Map<String, String> annotations,
      long createdAtNanos,
      boolean ready,
      boolean hostNetwork,
      String logDirectory,
      String runtimeHandler,
      String ip,
      String hostname,
      List<PortMapping> portMappings) {
    this(
        id,
        name,
        uid,
        namespace,
        attempt,
        labels,
        annotations,
        createdAtNanos,
        ready,
        hostNetwork,
        logDirectory,
        runtimeHandler,
        ip,
        hostname,
        portMappings,
        "",
        "");
  }

  /** How messages name the pod: as kubectl shows it, and the id prefix crictl takes. */
  public String describe() {
    return "pod "
        + namespace
        + "/"
        + name
        + " (sandbox "
        + id.substring(0, Math.min(13, id.length()))
        + ")";
  }

  /** Every selector pair is among the labels, as CRI's label_selector means. */
  public static boolean matches(Map<String, String> labels, Map<String, String> selector) {
    return selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
  }
}
