package io.krill.cri.pod;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.krill.cri.pod.cni.CniNetwork;
import io.krill.runtime.ErrorCode;
import io.krill.runtime.KrillException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Pod sandboxes: the record ({@link PodStore}), the network (CNI, {@link PodNetworks}) and the
 * files every container of the pod gets ({@link PodFiles}). Containers are not this class's
 * business: stopping or removing a pod's containers comes first, in the caller.
 */
public final class Pods {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final System.Logger LOG = System.getLogger("krill.cri");
  private final PodStore store;
  private final PodFiles files;
  private final CniNetwork network;
  private final PodNetworks networks;

  public Pods(PodStore store, PodFiles files, CniNetwork network, PodNetworks networks) {
    this.store = store;
    this.files = files;
    this.network = network;
    this.networks = networks;
  }

  /** Empty when pods can be given a network; otherwise why not (the NetworkReady condition). */
  public Optional<String> networkNotReadyBecause() {
    return network.notReadyBecause();
  }

  /**
   * Records the pod under {@code id} (its name is reserved by the caller), writes its files and,
   * unless it uses the host's network, sets up its network.
   */
  public Pod run(String id, PodRequest r) {
    if (r.name().isEmpty() || r.namespace().isEmpty()) {
      throw new KrillException(
          ErrorCode.INVALID_ARGUMENT, "a pod sandbox needs metadata.name and namespace");
    }
    Instant now = Instant.now();
    Pod pod =
        new Pod(
            id,
            r.name(),
            r.uid(),
            r.namespace(),
            r.attempt(),
            r.labels(),
            r.annotations(),
            now.getEpochSecond() * 1_000_000_000L + now.getNano(),
            true,
            r.hostNetwork(),
            r.logDirectory(),
            r.runtimeHandler(),
            "",
            hostname(r),
            r.portMappings(),
            r.configJson(),
            r.cgroupParent());
    // Recorded before the network exists, so a crash during setup leaves something to tear down.
    store.put(pod);
    try {
      files.write(pod, r.dns());
      if (!r.hostNetwork()) {
        pod = pod.withIp(networks.setUp(pod));
        store.put(pod);
      }
    } catch (IOException e) {
      forget(pod);
      throw new UncheckedIOException(
          pod.describe()
              + ": cannot write its hostname, hosts and resolv.conf files"
              + " under "
              + files.dir(pod.id())
              + ": "
              + e.getMessage(),
          e);
    } catch (RuntimeException e) {
      forget(pod);
      throw e;
    }
    return pod;
  }

  /** Takes the network down and marks the pod NOTREADY (its containers are stopped already). */
  public void stop(Pod p) {
    if (!p.hostNetwork()) {
      networks.tearDown(p);
    }
    store.put(p.stopped());
  }

  /**
   * Takes the network down and forgets the pod and its files (its containers are removed already).
   */
  public void remove(Pod p) {
    if (!p.hostNetwork()) {
      networks.tearDown(p);
    }
    removeFiles(p);
    store.remove(p.id());
  }

  public Pod get(String idOrPrefix) {
    return store.get(idOrPrefix);
  }

  public Optional<Pod> find(String idOrPrefix) {
    return store.find(idOrPrefix);
  }

  public List<Pod> list() {
    return store.list();
  }

  /** Where the pod's hostname, hosts and resolv.conf are. */
  /**
   * containerd's verbose sandbox info (the {@code info} key of PodSandboxStatus). A wasm pod has no
   * pause process, no sandbox image and no snapshot: {@code pid} is 0, {@code image}, {@code
   * snapshotKey} and {@code snapshotter} are empty, and there is no {@code runtimeSpec}; {@code
   * processStatus} says whether the pod is ready ({@code running}) or stopped.
   */
  public static String verboseInfo(Pod p) {
    var n = JSON.createObjectNode();
    n.put("pid", 0);
    n.put("processStatus", p.ready() ? "running" : "stopped");
    n.put("netNamespaceClosed", !p.hostNetwork() && !p.ready());
    n.put("image", "");
    n.put("snapshotKey", "");
    n.put("snapshotter", "");
    n.put("runtimeHandler", p.runtimeHandler());
    n.put("runtimeType", "krill");
    n.putNull("runtimeOptions");
    try {
      n.set("config", p.configJson().isEmpty() ? null : JSON.readTree(p.configJson()));
      n.putNull("cniResult");
      return JSON.writeValueAsString(n);
    } catch (IOException e) {
      throw new UncheckedIOException(p.describe() + ": cannot render its config", e);
    }
  }

  public Path filesDir(String podId) {
    return files.dir(podId);
  }

  /**
   * The pod's network namespace, for its containers' specs (where krill opens a container's
   * listening sockets); null for a host-network pod, which shares the daemon's.
   */
  public Path networkNamespace(Pod p) {
    return p.hostNetwork() ? null : PodNetworks.netnsPath(p.id());
  }

  /**
   * A pod whose RunPodSandbox failed: its network is already undone, its record and files go too.
   */
  private void forget(Pod p) {
    store.remove(p.id());
    removeFiles(p);
  }

  private void removeFiles(Pod p) {
    try {
      files.remove(p.id());
    } catch (IOException e) {
      LOG.log(
          Level.WARNING,
          "{0}: cannot remove {1}: {2}",
          p.describe(),
          files.dir(p.id()),
          e.getMessage());
    }
  }

  private static String hostname(PodRequest r) {
    try {
      return PodFiles.hostname(r.hostname(), r.name(), r.hostNetwork());
    } catch (IOException e) {
      throw new UncheckedIOException(
          "pod "
              + r.namespace()
              + "/"
              + r.name()
              + " asks for the node's hostname (host"
              + " network, no hostname), which cannot be read: "
              + e.getMessage()
              + "; set the pod's hostname",
          e);
    }
  }
}
