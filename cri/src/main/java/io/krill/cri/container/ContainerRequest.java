package io.krill.cri.container;

import io.krill.oci.RuntimeSpec;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What CreateContainer asks for, protobuf-free, with what the pod adds: its hostname (the HOSTNAME
 * variable) and the directory of its hostname, hosts and resolv.conf files ({@code PodFiles}).
 * {@code logPath} is absolute or empty (no log). {@code networkNamespace}: the pod's, which the
 * container's spec names (null: the daemon's, a host-network pod).
 */
public record ContainerRequest(
    String podId,
    String name,
    int attempt,
    String image,
    List<String> command,
    List<String> args,
    String workingDir,
    List<String> env,
    List<CriContainer.MountSpec> mounts,
    Map<String, String> labels,
    Map<String, String> annotations,
    String logPath,
    long memoryLimitBytes,
    String hostname,
    Path podFiles,
    boolean stdin,
    boolean stdinOnce,
    RuntimeSpec.Cpu cpu,
    ContainerResources resources,
    String configJson,
    Path networkNamespace) {
  public ContainerRequest {
    resources =
        resources != null
            ? resources
            : ContainerResources.NONE.updatedWith(
                new ContainerResources(0, 0, 0, memoryLimitBytes, 0, "", "", null, null, 0));
    configJson = configJson == null ? "" : configJson;
    hostname = hostname == null ? "" : hostname;
    command = List.copyOf(command);
    args = List.copyOf(args);
    env = List.copyOf(env);
    mounts = List.copyOf(mounts);
    labels = Map.copyOf(labels);
    annotations = Map.copyOf(annotations);
  }

  /** Without CPU limits. */
  public ContainerRequest(
      String podId,
      String name,
      int attempt,
      String image,
      List<String> command,
      List<String> args,
      String workingDir,
      List<String> env,
      List<CriContainer.MountSpec> mounts,
      Map<String, String> labels,
      Map<String, String> annotations,
      String logPath,
      long memoryLimitBytes,
      String hostname,
      Path podFiles,
      boolean stdin,
      boolean stdinOnce) {
    this(
        podId,
        name,
        attempt,
        image,
        command,
        args,
        workingDir,
        env,
        mounts,
        labels,
        annotations,
        logPath,
        memoryLimitBytes,
        hostname,
        podFiles,
        stdin,
        stdinOnce,
        null,
        null,
        null,
        null);
  }
}
