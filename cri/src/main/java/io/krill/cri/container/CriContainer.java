package io.krill.cri.container;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A CRI container as krill remembers it, persisted beside its bundle. The task itself lives in the
 * TaskManager; this record adds what CRI reports and the core does not know (pod, image, log path,
 * times). {@code finishedAtNanos} 0 means it has not exited. {@code stdin}: attached clients may
 * write the guest's stdin; {@code stdinOnce}: the first one to close it ends it.
 */
public record CriContainer(
    String id,
    String podId,
    String name,
    int attempt,
    String image,
    String imageId,
    Map<String, String> labels,
    Map<String, String> annotations,
    String logPath,
    List<MountSpec> mounts,
    long createdAtNanos,
    long startedAtNanos,
    long finishedAtNanos,
    int exitCode,
    String reason,
    String message,
    boolean stdin,
    boolean stdinOnce,
    ContainerResources resources,
    String configJson) {
  public CriContainer {
    Objects.requireNonNull(id, "id");
    labels = labels == null ? Map.of() : Map.copyOf(labels);
    annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    mounts = mounts == null ? List.of() : List.copyOf(mounts);
    logPath = logPath == null ? "" : logPath;
    reason = reason == null ? "" : reason;
    message = message == null ? "" : message;
    resources = resources == null ? ContainerResources.NONE : resources;
    configJson = configJson == null ? "" : configJson;
  }

  /**
   * A bind mount as CRI gives it; {@code propagation} is what was asked for (null: PRIVATE, CRI's
   * default).
   */
  public record MountSpec(
      String containerPath, String hostPath, boolean readOnly, Propagation propagation) {
    public MountSpec {
      propagation = propagation == null ? Propagation.PRIVATE : propagation;
    }

    public MountSpec(String containerPath, String hostPath, boolean readOnly) {
      this(containerPath, hostPath, readOnly, Propagation.PRIVATE);
    }
  }

  /**
   * CRI's mount propagation and the OCI option containerd gives each: {@code rprivate} (later host
   * mounts under the source stay invisible), {@code rslave} and {@code rshared} (the guest sees
   * them; a guest cannot mount, so nothing goes the other way).
   */
  public enum Propagation {
    PRIVATE("rprivate"),
    HOST_TO_CONTAINER("rslave"),
    BIDIRECTIONAL("rshared");

    private final String option;

    Propagation(String option) {
      this.option = option;
    }

    public String option() {
      return option;
    }
  }

  /** The same container with other resources (an UpdateContainerResources). */
  CriContainer withResources(ContainerResources r) {
    return new CriContainer(
        id,
        podId,
        name,
        attempt,
        image,
        imageId,
        labels,
        annotations,
        logPath,
        mounts,
        createdAtNanos,
        startedAtNanos,
        finishedAtNanos,
        exitCode,
        reason,
        message,
        stdin,
        stdinOnce,
        r,
        configJson);
  }

  CriContainer started(long at) {
    return new CriContainer(
        id,
        podId,
        name,
        attempt,
        image,
        imageId,
        labels,
        annotations,
        logPath,
        mounts,
        createdAtNanos,
        at,
        finishedAtNanos,
        exitCode,
        reason,
        message,
        stdin,
        stdinOnce,
        resources,
        configJson);
  }

  CriContainer finished(long at, int code, String why, String text) {
    return new CriContainer(
        id,
        podId,
        name,
        attempt,
        image,
        imageId,
        labels,
        annotations,
        logPath,
        mounts,
        createdAtNanos,
        startedAtNanos,
        at,
        code,
        why,
        text,
        stdin,
        stdinOnce,
        resources,
        configJson);
  }
}
