package io.krill.cri;

import java.util.Map;
import java.util.Objects;

/**
 * A pod sandbox as krill keeps it: what kubelet asked for (echoed back exactly) and where it stands. Wasm
 * pods have no pause process; a host-network pod is pure bookkeeping, any other gets a network namespace
 * with CNI ({@link PodNetworks}).
 *
 * <pre>
 * READY ──StopPodSandbox──► NOTREADY ──RemovePodSandbox──► (gone)
 * </pre>
 */
record Pod(String id, String name, String uid, String namespace, int attempt, Map<String, String> labels,
    Map<String, String> annotations, long createdAtNanos, boolean ready, boolean hostNetwork, String logDirectory,
    String runtimeHandler, String ip) {
  Pod {
    Objects.requireNonNull(id, "id");
    labels = labels == null ? Map.of() : Map.copyOf(labels);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    logDirectory = logDirectory == null ? "" : logDirectory;
    runtimeHandler = runtimeHandler == null ? "" : runtimeHandler;
    ip = ip == null ? "" : ip;
  }

  Pod stopped() {
    return new Pod(id, name, uid, namespace, attempt, labels, annotations, createdAtNanos, false, hostNetwork,
        logDirectory, runtimeHandler, ip);
  }

  Pod withIp(String address) {
    return new Pod(id, name, uid, namespace, attempt, labels, annotations, createdAtNanos, ready, hostNetwork,
        logDirectory, runtimeHandler, address);
  }

  /** Every selector pair is among the labels, as CRI's label_selector means. */
  static boolean matches(Map<String, String> labels, Map<String, String> selector) {
    return selector.entrySet().stream().allMatch(e -> e.getValue().equals(labels.get(e.getKey())));
  }
}
