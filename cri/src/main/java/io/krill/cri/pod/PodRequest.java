package io.krill.cri.pod;

import java.util.List;
import java.util.Map;

/**
 * What RunPodSandbox asks for, protobuf-free. {@code hostname} is the configured one (may be
 * empty); {@code hostNetwork}: the pod shares the node's network namespace.
 */
public record PodRequest(
    String name,
    String uid,
    String namespace,
    int attempt,
    Map<String, String> labels,
    Map<String, String> annotations,
    boolean hostNetwork,
    String logDirectory,
    String runtimeHandler,
    String hostname,
    List<Pod.PortMapping> portMappings,
    PodFiles.Dns dns,
    String configJson,
    String cgroupParent) {
  public PodRequest {
    configJson = configJson == null ? "" : configJson;
    cgroupParent = cgroupParent == null ? "" : cgroupParent;
    labels = labels == null ? Map.of() : Map.copyOf(labels);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    hostname = hostname == null ? "" : hostname;
    portMappings = portMappings == null ? List.of() : List.copyOf(portMappings);
    dns = dns == null ? new PodFiles.Dns(List.of(), List.of(), List.of()) : dns;
  }

  public PodRequest(
      String name,
      String uid,
      String namespace,
      int attempt,
      Map<String, String> labels,
      Map<String, String> annotations,
      boolean hostNetwork,
      String logDirectory,
      String runtimeHandler,
      String hostname,
      List<Pod.PortMapping> portMappings,
      PodFiles.Dns dns) {
    this(
        name,
        uid,
        namespace,
        attempt,
        labels,
        annotations,
        hostNetwork,
        logDirectory,
        runtimeHandler,
        hostname,
        portMappings,
        dns,
        "",
        "");
  }
}
